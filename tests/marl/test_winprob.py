"""Win probability from values that mean an outcome: exact tic-tac-toe values, outcome estimates mapped
by (v + 1) / 2, proven search results, and a policy checkpoint's value network read back from its state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl.checkpoints import load_agent, save_checkpoint
from marl.games import get_game
from marl.nets import build_critic, build_network
from marl.winprob import WinChance, exact, from_outcome_value, from_search_scores, tictactoe_exact

SMALL = {"kind": "mlp", "hidden": [8]}


def test_the_empty_board_and_a_centre_then_corner_opening_are_draws() -> None:
    assert tictactoe_exact([]) == WinChance(0.5, "exact")
    assert tictactoe_exact([4, 0]).probability == 0.5


def test_a_position_with_a_win_in_one_is_won_for_the_mover_and_lost_for_the_other() -> None:
    moves = [0, 3, 1, 4]  # X on 0 and 1, O on 3 and 4, X to move: 2 wins
    assert tictactoe_exact(moves).probability == 1.0
    assert tictactoe_exact(moves, seat=1).probability == 0.0


def test_an_edge_reply_to_a_corner_opening_loses_by_force() -> None:
    # O's edge next to X's corner is a known loss: X forks two moves later.
    assert tictactoe_exact([0, 1]).probability == 1.0
    assert tictactoe_exact([0, 1], seat=1).probability == 0.0


def test_a_finished_game_is_worth_its_result() -> None:
    won = [0, 3, 1, 4, 2]  # X completes the top row
    assert tictactoe_exact(won, seat=0).probability == 1.0 and tictactoe_exact(won, seat=1).probability == 0.0
    drawn = [4, 0, 2, 6, 3, 5, 1, 7, 8]
    assert tictactoe_exact(drawn, seat=0).probability == 0.5


def test_moves_that_are_no_game_get_no_value() -> None:
    assert tictactoe_exact([4, 4]) is None  # an occupied cell
    assert tictactoe_exact([9]) is None
    assert tictactoe_exact([0, 3, 1, 4, 2, 5]) is None  # a move after X won
    assert exact("connect_four", [3, 3]) is None  # not solved here: the network or search says
    assert exact("tictactoe", [0, 3, 1, 4]).source == "exact"


def test_an_outcome_estimate_maps_to_its_expected_score_and_is_clipped() -> None:
    assert from_outcome_value(-1.0, "value").probability == 0.0
    assert from_outcome_value(0.0, "search").probability == 0.5
    assert from_outcome_value(0.5, "value").probability == 0.75
    assert from_outcome_value(3.2, "q") == WinChance(1.0, "q")  # Q-values are not bounded
    assert from_outcome_value(-7.0, "q").probability == 0.0
    assert from_outcome_value(0.1234567, "value").as_json() == {
        "win_probability": 0.5617,
        "win_source": "value",
    }
    with pytest.raises(ValueError, match="source"):
        from_outcome_value(0.0, "heuristic")


def test_only_a_proven_search_result_is_a_probability() -> None:
    assert from_search_scores(1_000_004) == WinChance(1.0, "proven")
    assert from_search_scores(-1_000_002) == WinChance(0.0, "proven")
    assert from_search_scores(36.0) is None  # a heuristic's count of open lines is no chance


@pytest.mark.parametrize("with_state", [True, False])
def test_a_policy_checkpoint_reads_its_value_network_from_the_training_state(tmp_path, with_state) -> None:
    spec = get_game("tictactoe")
    torch.manual_seed(0)
    policy = build_network(SMALL, spec.obs_shape, spec.n_actions)
    critic = build_critic(SMALL, spec.obs_shape)
    state = {f"critic.net.{k}": v for k, v in critic.state_dict().items()} if with_state else None
    meta = {
        "game": "tictactoe",
        "env_id": spec.env_id,
        "algorithm": "ppo",
        "network": SMALL,
        "agent_id": "player_1",
        "env_steps": 0,
    }
    path = save_checkpoint(tmp_path, "ppo", weights=policy.state_dict(), state=state, meta=meta)
    obs = np.zeros(spec.obs_shape, dtype=np.float32)
    assert load_agent(path, device="cpu").value(obs) is None  # not asked for: the state is not read
    agent = load_agent(path, device="cpu", value=True)
    if not with_state:
        assert agent.value(obs) is None
        return
    expected = float(critic(torch.as_tensor(obs[None]))[0, 0])
    assert agent.value(obs) == pytest.approx(expected, abs=1e-6)


def test_a_lost_training_state_costs_the_value_not_the_agent(tmp_path) -> None:
    spec = get_game("tictactoe")
    critic = build_critic(SMALL, spec.obs_shape)
    meta = {"game": "tictactoe", "env_id": spec.env_id, "algorithm": "ppo", "network": SMALL}
    path = save_checkpoint(
        tmp_path,
        "ppo",
        weights=build_network(SMALL, spec.obs_shape, spec.n_actions).state_dict(),
        state={f"critic.net.{k}": v for k, v in critic.state_dict().items()},
        meta={**meta, "agent_id": "player_1", "env_steps": 0},
    )
    (tmp_path / "ppo.state.safetensors").unlink()
    agent = load_agent(path, device="cpu", value=True)
    assert agent.value(np.zeros(spec.obs_shape, dtype=np.float32)) is None
    assert agent.act(np.zeros(spec.obs_shape, dtype=np.float32), np.ones(9, dtype=np.int8)) in range(9)
