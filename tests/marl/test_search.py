"""Tree search at play time: budgets, masks, strength against random, and the player spec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl.bots import make_bot
from marl.checkpoints import save_checkpoint
from marl.errors import ConfigError, MarlError
from marl.fastgames import ConnectFour, TicTacToe
from marl.games import get_game
from marl.match import play_matches
from marl.nets import build_network
from marl.play import load_side
from marl.search import (
    NetworkEvaluator,
    PlayerSpec,
    RolloutEvaluator,
    SearchAgent,
    parse_player,
    rollout_agent,
)

EMPTY_TTT = np.zeros((3, 3, 2), dtype=np.int8)


def _score(game: str, agent, opponent, games: int) -> tuple[float, list]:
    """Score of ``agent`` (win 1, draw 0.5) over ``games`` seeded games, half in each seat, and the
    results where it played first."""
    spec = get_game(game)
    first, second = spec.seats
    half = games // 2
    as_first = play_matches(spec, {first: agent, second: opponent}, list(range(half)))
    as_second = play_matches(spec, {second: agent, first: opponent}, list(range(half, games)))
    points = sum(1.0 if r.winner == first else 0.5 if r.winner is None else 0.0 for r in as_first)
    points += sum(1.0 if r.winner == second else 0.5 if r.winner is None else 0.0 for r in as_second)
    return points / games, as_first


def _untrained(game: str, seed: int = 0) -> torch.nn.Module:
    spec = get_game(game)
    torch.manual_seed(seed)
    return build_network({"kind": "mlp", "hidden": [32]}, spec.obs_shape, spec.n_actions)


def test_search_respects_the_action_mask() -> None:
    agent = rollout_agent("tictactoe", 50, seed=0)
    mask = np.zeros(9, dtype=np.int8)
    mask[[2, 7]] = 1
    result = agent.search(EMPTY_TTT, mask)
    assert result.action in (2, 7)
    assert set(np.flatnonzero(result.visits)) <= {2, 7}
    assert np.isnan(result.shares[[0, 1, 3, 4, 5, 6, 8]]).all()
    assert np.isclose(np.nansum(result.shares), 1.0)


def test_a_mask_that_allows_an_occupied_cell_is_rejected() -> None:
    game = TicTacToe()
    game.step(4)
    with pytest.raises(MarlError, match="only"):
        rollout_agent("tictactoe", 10).act(game.observation(), np.ones(9, dtype=np.int8))


@pytest.mark.parametrize("simulations", [1, 37, 200])
def test_search_spends_exactly_its_simulation_budget(simulations: int) -> None:
    rollouts = rollout_agent("connect_four", simulations, seed=1)
    network = SearchAgent("connect_four", NetworkEvaluator(_untrained("connect_four"), "logits"), simulations)
    obs, mask = ConnectFour().observation(), ConnectFour().legal_mask()
    for agent in (rollouts, network):
        assert agent.search(obs, mask).visits.sum() == simulations


def test_a_budget_outside_the_limits_is_rejected() -> None:
    assert make_bot("tictactoe", "mcts").mcts.simulations == 200
    for name in ("mcts:0", "mcts:100001", "mcts:x"):
        with pytest.raises(ConfigError):
            make_bot("tictactoe", name)
    with pytest.raises(ConfigError):
        parse_player("model.json + mcts:0")


def test_search_is_deterministic_for_a_seed() -> None:
    game = ConnectFour()
    for column in (3, 3, 2):
        game.step(column)
    obs, mask = game.observation(), game.legal_mask()
    first = rollout_agent("connect_four", 300, seed=5).search(obs, mask)
    second = rollout_agent("connect_four", 300, seed=5).search(obs, mask)
    assert np.array_equal(first.visits, second.visits) and first.root_value == second.root_value
    reseeded = rollout_agent("connect_four", 300, seed=9)
    reseeded.reset(5)
    assert np.array_equal(reseeded.search(obs, mask).visits, first.visits)


def test_search_takes_a_win_and_reports_a_winning_root_value() -> None:
    game = TicTacToe()
    for action in (0, 3, 1, 4):  # the first player holds 0 and 1: playing 2 wins
        game.step(action)
    result = rollout_agent("tictactoe", 200, seed=0).search(game.observation(), game.legal_mask())
    assert result.action == 2
    assert result.root_value > 0.8 and result.shares[2] > 0.5


def test_search_blocks_an_immediate_connect_four_threat() -> None:
    game = ConnectFour()
    for column in (0, 6, 0, 6, 0):  # the first player threatens four in column 0
        game.step(column)
    assert rollout_agent("connect_four", 200, seed=0).act(game.observation(), game.legal_mask()) == 0


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_pure_mcts_200_beats_random(game: str) -> None:
    score, as_first = _score(game, make_bot(game, "mcts:200", seed=0), make_bot(game, "random", seed=1), 30)
    assert score >= 0.9
    if game == "tictactoe":
        assert all(r.winner == get_game(game).seats[0] for r in as_first)


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_search_with_an_untrained_network_still_beats_random(game: str) -> None:
    network = NetworkEvaluator(_untrained(game), "q")
    score, _ = _score(game, SearchAgent(game, network, 200), make_bot(game, "random", seed=3), 30)
    assert score >= 0.9


def test_a_q_network_gives_a_prior_over_the_given_actions_and_a_clipped_value() -> None:
    prior, value = NetworkEvaluator(_untrained("tictactoe"), "q").evaluate(TicTacToe(), [0, 4, 8])
    assert len(prior) == 3 and np.isclose(sum(prior), 1.0) and -1.0 <= value <= 1.0
    prior, _ = RolloutEvaluator(0).evaluate(TicTacToe(), [0, 4, 8])
    assert prior is None


def _save_untrained(tmp_path, game: str):
    spec = get_game(game)
    net = _untrained(game)
    meta = {
        "game": game,
        "env_id": spec.env_id,
        "algorithm": "dqn",
        "network": {"kind": "mlp", "hidden": [32]},
        "agent_id": spec.seats[1],
        "env_steps": 0,
    }
    return save_checkpoint(tmp_path, "untrained", weights=net.state_dict(), state=None, meta=meta)


def test_a_checkpoint_with_search_round_trips_through_the_spec_parser(tmp_path) -> None:
    path = _save_untrained(tmp_path, "tictactoe")
    text = f"{path.with_suffix('.json')} + mcts:50"
    spec = parse_player(text)
    assert spec == PlayerSpec(str(path.with_suffix(".json")), 50) and parse_player(str(spec)) == spec
    assert parse_player(f"  {path}  ") == PlayerSpec(str(path))
    agent = load_side("tictactoe", text, seed=0)
    assert isinstance(agent, SearchAgent) and agent.mcts.simulations == 50
    results = play_matches(
        "tictactoe", {"player_1": agent, "player_2": make_bot("tictactoe", "random")}, [0, 1]
    )
    assert all(r.reason != "illegal_move" for r in results)
    assert agent.last_search is not None and agent.last_search.visits.sum() == 50


def test_search_on_top_of_a_bot_name_is_rejected() -> None:
    with pytest.raises(MarlError, match="checkpoint path"):
        load_side("tictactoe", "minimax + mcts:50", seed=0)


def test_play_cli_runs_a_checkpoint_with_search_on_top(tmp_path, capsys) -> None:
    from marl.play import main

    path = _save_untrained(tmp_path, "tictactoe")
    side = f"{path.with_suffix('.json')} + mcts:30"
    assert main(["--game", "tictactoe", "--a", side, "--b", "mcts:30", "--games", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "4 games" in lines[0] and lines[2].startswith(f"{side} (A)")


def test_search_scores_are_visit_shares_for_a_heat_map() -> None:
    game = TicTacToe()
    game.step(4)
    shares = rollout_agent("tictactoe", 80, seed=0).scores(game.observation(), game.legal_mask())
    assert (
        np.isnan(shares[4]) and np.isclose(np.nansum(shares), 1.0) and (shares[~np.isnan(shares)] >= 0).all()
    )
