"""The fast training env answers exactly what Tianshou's PettingZooEnv answers, move for move.

Both envs are driven side by side through seeded random games (illegal moves and resets after the
end included), then through Tianshou's collector, then through tiny DQN and PPO runs.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from tianshou.algorithm import MARLRandomDiscreteMaskedOffPolicyAlgorithm
from tianshou.algorithm.multiagent.marl import MultiAgentOffPolicyAlgorithm
from tianshou.env import DummyVectorEnv

from marl import _tianshou as ts
from marl.bots import make_bot
from marl.checkpoints import load_agent, load_checkpoint
from marl.errors import ConfigError
from marl.games import get_game
from marl.match import play_matches
from marl.train import TrainConfig, train

GAMES = ["tictactoe", "connect_four"]


def _assert_same_obs(fast: dict, ref: dict) -> None:
    assert fast.keys() == ref.keys() == {"agent_id", "obs", "mask"}
    assert fast["agent_id"] == ref["agent_id"]
    assert fast["obs"].dtype == ref["obs"].dtype and fast["obs"].shape == ref["obs"].shape
    assert np.array_equal(fast["obs"], ref["obs"])
    assert fast["mask"] == ref["mask"]
    assert [type(m) for m in fast["mask"]] == [type(m) for m in ref["mask"]]


def _assert_same_step(fast: tuple, ref: tuple) -> None:
    _assert_same_obs(fast[0], ref[0])
    assert fast[1] == ref[1] and [type(r) for r in fast[1]] == [type(r) for r in ref[1]]
    assert fast[2:] == ref[2:]
    assert [type(x) for x in fast[2:4]] == [type(x) for x in ref[2:4]]


@pytest.mark.parametrize("game", GAMES)
def test_the_fast_env_has_the_same_agents_spaces_and_agent_index(game):
    spec = get_game(game)
    fast, ref = ts.make_env(spec, fast=True), ts.make_env(spec)
    assert fast.agents == ref.agents == list(spec.seats)
    assert fast.agent_idx == ref.agent_idx
    assert fast.observation_space == ref.observation_space
    assert fast.action_space == ref.action_space
    assert fast.unwrapped is fast


@pytest.mark.parametrize("game", GAMES)
def test_random_games_match_pettingzoo_move_for_move_including_illegal_moves_and_resets(game):
    spec = get_game(game)
    fast, ref = ts.make_env(spec, fast=True), ts.make_env(spec)
    rng = random.Random(12)
    endings = {"win": 0, "draw": 0, "illegal": 0}
    for episode in range(400):
        # Every reset follows a finished game (the collector's pattern), with and without a seed.
        kwargs = {"seed": episode} if episode % 3 == 0 else {}
        (obs_f, info_f), (obs_r, info_r) = fast.reset(**kwargs), ref.reset(**kwargs)
        _assert_same_obs(obs_f, obs_r)
        assert info_f == info_r
        while True:
            legal = [a for a, ok in enumerate(obs_r["mask"]) if ok]
            illegal = [a for a in range(spec.n_actions) if a not in legal]
            if illegal and rng.random() < 0.02:
                action = rng.choice(illegal)
            else:
                action = np.int64(rng.choice(legal)) if rng.random() < 0.5 else rng.choice(legal)
            step_f, step_r = fast.step(action), ref.step(action)
            _assert_same_step(step_f, step_r)
            obs_r = step_r[0]
            if step_r[2] or step_r[3]:
                rewards = step_r[1]
                endings["illegal" if step_r[3] else "win" if any(rewards) else "draw"] += 1
                break
    assert all(endings.values()), endings  # every kind of ending was compared


@pytest.mark.parametrize("game", GAMES)
def test_out_of_range_actions_and_moves_after_the_end_fail_as_in_pettingzoo(game):
    spec = get_game(game)
    for env in (ts.make_env(spec, fast=True), ts.make_env(spec)):
        env.reset()
        with pytest.raises(AssertionError):
            env.step(spec.n_actions)
        obs, _ = env.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(obs["mask"].index(True))
            done = terminated or truncated
        with pytest.raises(ValueError, match="only valid action is None"):
            env.step(0)


def _collect(game: str, venv: str, n_step: int) -> ts.VectorReplayBuffer:
    """``n_step`` transitions of random vs random through ``venv``: ``"pettingzoo"`` (the reference),
    ``"fast"`` (Tianshou's DummyVectorEnv of fast envs) or ``"fast-vector"`` (``FastVectorEnv``)."""
    spec = get_game(game)
    fast = venv != "pettingzoo"
    env = ts.make_env(spec, fast=fast)
    random_seat = MARLRandomDiscreteMaskedOffPolicyAlgorithm(env.action_space)
    algo = MultiAgentOffPolicyAlgorithm(algorithms=[random_seat, random_seat], env=env)
    buffer = ts.NoNanCheckBuffer(4 * n_step, 4)
    if venv == "fast":
        envs = DummyVectorEnv([lambda: ts.make_env(spec, fast=True) for _ in range(4)])
        envs.seed(3)
    else:
        envs = ts.make_vector_env(spec, 4, seed=3, fast=fast)
    assert isinstance(envs, ts.FastVectorEnv) == (venv == "fast-vector")
    collector = ts.Collector(algo, envs, buffer)
    np.random.seed(7)  # the masked random policy draws from numpy's global generator
    collector.reset()
    collector.collect(n_step=n_step)
    return buffer


@pytest.mark.parametrize("venv", ["fast", "fast-vector"])
@pytest.mark.parametrize("game", GAMES)
def test_the_collector_stores_the_same_transitions_from_the_fast_envs_as_from_pettingzoo(game, venv):
    fast, ref = _collect(game, venv, 600), _collect(game, "pettingzoo", 600)
    assert len(fast) == len(ref) == 600
    assert int(ref.done.sum()) > 10  # many games, so many resets after the end
    for key in ("act", "rew", "terminated", "truncated", "done"):
        assert np.array_equal(getattr(fast, key), getattr(ref, key)), key
        assert getattr(fast, key).dtype == getattr(ref, key).dtype, key
    for part in ("obs", "obs_next"):
        f, r = getattr(fast, part), getattr(ref, part)
        assert np.array_equal(f.agent_id, r.agent_id)
        assert np.array_equal(f.mask, r.mask) and f.mask.dtype == r.mask.dtype
        assert np.array_equal(f.obs, r.obs) and f.obs.dtype == r.obs.dtype
    assert np.array_equal(fast.info.env_id, ref.info.env_id)


def test_fast_env_is_on_by_default_for_games_with_a_core_and_recorded_in_the_config():
    assert TrainConfig.from_dict({"game": "tictactoe"}).fast_env is True
    assert TrainConfig.from_dict({"game": "connect_four"}).to_dict()["fast_env"] is True
    assert TrainConfig.from_dict({"game": "connect_four", "fast_env": False}).fast_env is False
    assert TrainConfig.from_dict({"game": "leduc_holdem"}).fast_env is False
    with pytest.raises(ConfigError, match="no fast core"):
        TrainConfig.from_dict({"game": "leduc_holdem", "fast_env": True})
    with pytest.raises(ConfigError, match="fast_env must be"):
        TrainConfig.from_dict({"game": "tictactoe", "fast_env": "yes"})


def _tiny(algorithm: str, fast_env: bool) -> dict:
    return {
        "game": "tictactoe",
        "algorithm": algorithm,
        "network": {"kind": "mlp", "hidden": [32]},
        "env_steps": 384,
        "steps_per_epoch": 192,
        "num_envs": 4,
        "step_per_collect": 32,
        "batch_size": 32,
        "buffer_size": 2000,
        "episode_per_collect": 8,
        "eval_games": 10,
        "seed": 4,
        "device": "cpu",
        "fast_env": fast_env,
    }


@pytest.mark.parametrize("algorithm", ["dqn", "ppo"])
def test_training_with_the_fast_env_learns_exactly_what_the_pettingzoo_env_teaches(algorithm, tmp_path):
    runs = {}
    for fast_env in (True, False):
        result = train(_tiny(algorithm, fast_env), out_dir=tmp_path / str(fast_env))
        runs[fast_env] = (result, load_checkpoint(result.checkpoints["player_1"], game="tictactoe"))
    (fast, fast_ckpt), (ref, ref_ckpt) = runs[True], runs[False]
    assert fast_ckpt.meta["train_config"]["fast_env"] is True
    assert ref_ckpt.meta["train_config"]["fast_env"] is False
    assert fast.env_steps == ref.env_steps
    assert [h["episodes"] for h in fast.history] == [h["episodes"] for h in ref.history]
    assert [h["win_rate"] for h in fast.history] == [h["win_rate"] for h in ref.history]
    assert fast_ckpt.weights.keys() == ref_ckpt.weights.keys()
    for name, tensor in fast_ckpt.weights.items():
        assert torch.equal(tensor, ref_ckpt.weights[name]), name
    agent = load_agent(fast.checkpoints["player_1"], device="cpu")
    results = play_matches(
        "tictactoe", {"player_1": agent, "player_2": make_bot("tictactoe", "random", seed=0)}, list(range(20))
    )
    assert len(results) == 20 and all(r.reason != "illegal_move" for r in results)
