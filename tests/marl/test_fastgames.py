"""The fast cores agree with the real PettingZoo envs move for move, and copy cheaply."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.errors import ConfigError, IllegalMoveError
from marl.fastgames import ConnectFour, TicTacToe, fast_game
from marl.games import get_game

GAMES = ("tictactoe", "connect_four")


def _assert_same_position(env, game, seats) -> None:
    """Observation, mask and rewards of both seats, and the end of the game, match PettingZoo."""
    raw = env.unwrapped
    for index, seat in enumerate(seats):
        observed = raw.observe(seat)
        np.testing.assert_array_equal(game.observation(index), observed["observation"])
        assert raw.rewards[seat] == game.reward(index)
        assert raw.terminations[seat] == game.terminal
    if not game.terminal:
        mover = seats[game.to_move]
        assert raw.agent_selection == mover
        np.testing.assert_array_equal(game.legal_mask(), raw.observe(mover)["action_mask"])
        np.testing.assert_array_equal(game.observation(), raw.observe(mover)["observation"])


def _play_along(name: str, picks: list[int]) -> int:
    """Play one game in both cores, the n-th move chosen by ``picks[n]`` among the legal ones."""
    spec = get_game(name)
    env = spec.make_env()
    env.reset(seed=0)
    game = fast_game(name)()
    _assert_same_position(env, game, spec.seats)
    for pick in picks:
        if game.terminal:
            break
        legal = game.legal_actions()
        action = legal[pick % len(legal)]
        env.step(action)
        game.step(action)
        _assert_same_position(env, game, spec.seats)
        rebuilt = fast_game(name).from_observation(game.observation()) if not game.terminal else None
        if rebuilt is not None:
            assert rebuilt.bits == game.bits and rebuilt.to_move == game.to_move
    return game.moves


@pytest.mark.parametrize("name", GAMES)
@settings(max_examples=150, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=6), min_size=42, max_size=42))
def test_fast_core_matches_pettingzoo_move_for_move(name: str, picks: list[int]) -> None:
    _play_along(name, picks)


@pytest.mark.parametrize("name", GAMES)
def test_seeded_random_games_reach_the_end_in_both_cores(name: str) -> None:
    rng = np.random.default_rng(7)
    lengths = [_play_along(name, list(rng.integers(0, 7, size=42))) for _ in range(100)]
    assert min(lengths) >= (5 if name == "tictactoe" else 7)  # no game ends before a line is possible


def test_a_full_connect_four_board_is_a_draw() -> None:
    game = ConnectFour()
    # Columns filled in pairs in an order that never makes four in a row.
    for column in (0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2) + (
        4,
        5,
        4,
        5,
        4,
        5,
        5,
        4,
        5,
        4,
        5,
        4,
        6,
        6,
        6,
        6,
        6,
        6,
    ):
        assert not game.terminal
        game.step(column)
    assert game.terminal and game.winner is None and game.reward(0) == game.reward(1) == 0


def test_clone_is_independent_of_the_original() -> None:
    game = TicTacToe()
    game.step(4)
    copy = game.clone()
    copy.step(0)
    assert game.moves == 1 and copy.moves == 2
    assert game.legal_actions() == [0, 1, 2, 3, 5, 6, 7, 8]


def test_illegal_move_is_rejected() -> None:
    game = ConnectFour()
    for _ in range(6):
        game.step(3)
    with pytest.raises(IllegalMoveError):
        game.step(3)
    with pytest.raises(IllegalMoveError):
        game.step(7)


def test_an_observation_of_the_wrong_shape_is_rejected() -> None:
    with pytest.raises(ConfigError):
        TicTacToe.from_observation(np.zeros((6, 7, 2), dtype=np.int8))
    with pytest.raises(ConfigError):
        fast_game("chess")
