"""Agents: the random agent and the greedy network policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl.agents import Agent, PolicyAgent, RandomAgent
from marl.errors import MarlError
from marl.match import play_match, play_matches


def _tiny_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 9))


def _batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    observations = rng.integers(0, 2, size=(n, 3, 3, 2)).astype(np.int8)
    masks = rng.integers(0, 2, size=(n, 9)).astype(np.int8)
    masks[np.arange(n), rng.integers(0, 9, size=n)] = 1  # at least one legal action per row
    return observations, masks


def test_policy_agent_never_picks_a_masked_action() -> None:
    agent = PolicyAgent(_tiny_net(), device="cpu")
    observations, masks = _batch(500)
    actions = agent.act_batch(observations, masks)
    assert masks[np.arange(500), actions].all()


def test_policy_agent_act_batch_equals_act_row_by_row() -> None:
    for kind in ("q", "logits"):
        agent = PolicyAgent(_tiny_net(1), kind=kind, device="cpu")
        observations, masks = _batch(64, seed=1)
        batched = agent.act_batch(observations, masks)
        assert list(batched) == [agent.act(o, m) for o, m in zip(observations, masks, strict=True)]


def test_policy_agent_scores_are_masked_values_or_probabilities() -> None:
    observations, masks = _batch(1, seed=2)
    q = PolicyAgent(_tiny_net(), kind="q", device="cpu").scores(observations[0], masks[0])
    assert np.isnan(q[masks[0] == 0]).all() and np.isfinite(q[masks[0] == 1]).all()
    p = PolicyAgent(_tiny_net(), kind="logits", device="cpu").scores(observations[0], masks[0])
    assert p.sum() == pytest.approx(1.0) and (p[masks[0] == 0] == 0).all()
    assert np.nanargmax(q) == np.argmax(p)


def test_policy_agent_scores_and_act_from_one_pass_equal_scores_and_act() -> None:
    for kind in ("q", "logits"):
        agent = PolicyAgent(_tiny_net(5), kind=kind, device="cpu")
        for observation, mask in zip(*_batch(64, seed=5), strict=True):
            scores, action = agent.scores_and_act(observation, mask)
            np.testing.assert_array_equal(scores, agent.scores(observation, mask))
            assert action == agent.act(observation, mask)


def test_policy_agent_plays_whole_games_and_batches_them() -> None:
    agents = {
        "player_1": PolicyAgent(_tiny_net(3), device="cpu"),
        "player_2": PolicyAgent(_tiny_net(4), device="cpu"),
    }
    single = play_match("tictactoe", agents, seed=0)
    assert single.reason in ("win", "draw")
    assert play_matches("tictactoe", agents, [0, 1]) == [single, play_match("tictactoe", agents, seed=1)]


def test_policy_agent_rejects_a_wrong_output_shape() -> None:
    agent = PolicyAgent(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 7)), device="cpu")
    observations, masks = _batch(2)
    with pytest.raises(MarlError, match="output shape"):
        agent.act_batch(observations, masks)


def test_policy_agent_rejects_an_unknown_kind() -> None:
    with pytest.raises(MarlError, match="kind"):
        PolicyAgent(_tiny_net(), kind="values")


def test_random_agent_is_uniform_over_legal_moves_and_reseedable() -> None:
    mask = np.array([0, 1, 0, 1, 1, 0, 0, 0, 0], dtype=np.int8)
    obs = np.zeros((3, 3, 2), dtype=np.int8)
    agent = RandomAgent(0)
    picks = np.array([agent.act(obs, mask) for _ in range(3000)])
    counts = np.bincount(picks, minlength=9)
    assert set(np.flatnonzero(counts)) == {1, 3, 4}
    assert counts[[1, 3, 4]].min() > 850
    agent.reset(7)
    first = [agent.act(obs, mask) for _ in range(20)]
    agent.reset(7)
    assert [agent.act(obs, mask) for _ in range(20)] == first


def test_random_agent_act_batch_equals_act_row_by_row_for_the_same_seed() -> None:
    observations, masks = _batch(50, seed=3)
    batched = RandomAgent(11).act_batch(observations, masks)
    single = RandomAgent(11)
    assert list(batched) == [single.act(o, m) for o, m in zip(observations, masks, strict=True)]


def test_an_empty_mask_is_an_error() -> None:
    with pytest.raises(MarlError, match="no legal action"):
        RandomAgent(0).act(np.zeros((3, 3, 2)), np.zeros(9))


def test_agents_satisfy_the_protocol() -> None:
    assert isinstance(RandomAgent(), Agent)
    assert isinstance(PolicyAgent(_tiny_net(), device="cpu"), Agent)
