"""The game registry: env construction, the browser's JSON view and move parsing."""

from __future__ import annotations

import pytest
from pettingzoo.test import api_test

from marl.errors import IllegalMoveError, MarlError, UnknownGameError
from marl.games import GAMES, get_game
from marl.match import MatchState


def test_registry_holds_tictactoe_and_connect_four() -> None:
    assert get_game("tictactoe").env_id == "tictactoe_v3"
    assert get_game("connect_four").env_id == "connect_four_v3"
    assert get_game("tictactoe").seats == ("player_1", "player_2")
    assert get_game("connect_four").seats == ("player_0", "player_1")


def test_unknown_game_is_rejected_with_a_readable_message() -> None:
    with pytest.raises(UnknownGameError, match="unknown game 'chess9'.*tictactoe"):
        get_game("chess9")
    assert issubclass(UnknownGameError, MarlError) and issubclass(MarlError, ValueError)


@pytest.mark.parametrize("name", sorted(GAMES))
def test_each_registered_env_passes_the_pettingzoo_api_test(name: str) -> None:
    api_test(GAMES[name].make_env(), num_cycles=50)


@pytest.mark.parametrize("name", sorted(GAMES))
def test_spec_shapes_match_the_env(name: str) -> None:
    spec = GAMES[name]
    env = spec.make_env()
    env.reset(seed=0)
    assert tuple(env.possible_agents) == spec.seats
    space = env.observation_space(spec.seats[0])
    assert space["observation"].shape == spec.obs_shape
    assert env.action_space(spec.seats[0]).n == spec.n_actions


def test_tictactoe_state_json_uses_rows_top_to_bottom() -> None:
    # Action 3 is column 1 of the top row, action 1 is row 1 of the left column.
    state = MatchState("tictactoe", 0, [3, 1]).state_json()
    assert state["board"] == [[0, 1, 0], [2, 0, 0], [0, 0, 0]]
    assert state["to_move"] == "player_1"
    assert state["legal_moves"] == [0, 2, 4, 5, 6, 7, 8]
    assert state["result"] is None
    assert state["game"] == "tictactoe"


def test_connect_four_state_json_drops_pieces_to_the_bottom_row() -> None:
    state = MatchState("connect_four", 0, [3, 3, 0]).state_json()
    board = state["board"]
    assert len(board) == 6 and all(len(row) == 7 for row in board)
    assert board[5] == [1, 0, 0, 1, 0, 0, 0]
    assert board[4] == [0, 0, 0, 2, 0, 0, 0]
    assert state["to_move"] == "player_1"
    assert state["legal_moves"] == list(range(7))


def test_finished_game_reports_winner_and_returns() -> None:
    # player_1 takes the left column (actions 0, 1, 2).
    state = MatchState("tictactoe", 0, [0, 3, 1, 4, 2]).state_json()
    assert state["to_move"] is None
    assert state["legal_moves"] == []
    assert state["result"]["winner"] == "player_1"
    assert state["result"]["returns"] == {"player_1": 1.0, "player_2": -1.0}
    assert state["board"][0][0] == state["board"][1][0] == state["board"][2][0] == 1


@pytest.mark.parametrize("payload", [4, {"action": 4}, {"row": 1, "col": 1}])
def test_move_from_json_accepts_the_three_forms(payload: object) -> None:
    state = MatchState("tictactoe")
    assert state.spec.move_from_json(state.env, payload) == 4


def test_move_from_json_maps_row_and_col_to_pettingzoo_actions() -> None:
    state = MatchState("tictactoe")
    assert state.spec.move_from_json(state.env, {"row": 0, "col": 2}) == 6
    assert state.spec.move_from_json(state.env, {"row": 2, "col": 0}) == 2


def test_connect_four_move_from_json_takes_a_column() -> None:
    state = MatchState("connect_four")
    assert state.spec.move_from_json(state.env, {"col": 3}) == 3
    assert state.spec.move_from_json(state.env, 6) == 6


@pytest.mark.parametrize(
    "payload",
    [
        True,
        4.0,
        "4",
        None,
        [4],
        -1,
        9,
        {"action": True},
        {"action": 4.5},
        {"action": 4, "extra": 1},
        {"row": 1},
        {"row": 1, "col": 3},
        {"row": "1", "col": 1},
        {"col": 1, "row": 1, "action": 4},
        {},
    ],
)
def test_malformed_move_payload_is_rejected(payload: object) -> None:
    state = MatchState("tictactoe")
    with pytest.raises(IllegalMoveError):
        state.spec.move_from_json(state.env, payload)


def test_illegal_move_is_rejected_with_a_clear_message() -> None:
    state = MatchState("tictactoe", 0, [4])
    with pytest.raises(IllegalMoveError, match=r"row 1, col 1 .*not a legal move"):
        state.spec.move_from_json(state.env, {"row": 1, "col": 1})


def test_full_connect_four_column_is_rejected() -> None:
    state = MatchState("connect_four", 0, [2] * 6)
    with pytest.raises(IllegalMoveError, match="column 2"):
        state.spec.move_from_json(state.env, {"col": 2})


def test_move_after_the_end_is_rejected() -> None:
    state = MatchState("tictactoe", 0, [0, 3, 1, 4, 2])
    with pytest.raises(IllegalMoveError, match="over"):
        state.spec.move_from_json(state.env, 8)
