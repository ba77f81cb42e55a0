"""Reference bots: perfect tic-tac-toe and alpha-beta connect four."""

from __future__ import annotations

import time

import numpy as np
import pytest

from marl.agents import RandomAgent, needs_moves
from marl.bots import BOTS, AlphaBetaAgent, MinimaxAgent, make_bot
from marl.engines import find_engine
from marl.errors import ConfigError, MarlError, UnknownGameError
from marl.match import MatchState, close_agents, play_match, play_matches


def _position(game: str, moves: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return MatchState(game, 0, moves).observation()


def test_minimax_never_loses_to_random_in_either_seat() -> None:
    for seat, other in (("player_1", "player_2"), ("player_2", "player_1")):
        results = play_matches("tictactoe", {seat: MinimaxAgent(), other: RandomAgent(1)}, range(100))
        assert all(r.winner in (seat, None) for r in results)
        assert sum(r.winner == seat for r in results) > 60


def test_minimax_draws_against_itself() -> None:
    for seed in range(3):
        result = play_match("tictactoe", {"player_1": MinimaxAgent(seed), "player_2": MinimaxAgent()}, seed)
        assert result.reason == "draw"


def test_minimax_takes_the_winning_move() -> None:
    # player_1 holds actions 0 and 1 (left column, top two rows); 2 completes the column.
    obs, mask = _position("tictactoe", [0, 3, 1, 4])
    assert MinimaxAgent().act(obs, mask) == 2


def test_minimax_blocks_an_immediate_loss() -> None:
    # player_1 threatens 6 (top row 0, 3, 6); player_2 must block there.
    obs, mask = _position("tictactoe", [0, 4, 3])
    assert MinimaxAgent().act(obs, mask) == 6


def test_minimax_prefers_the_quicker_win() -> None:
    # player_1 can win now at 2 or play on; the scores rank the immediate win highest.
    obs, mask = _position("tictactoe", [0, 3, 1, 4])
    scores = MinimaxAgent().scores(obs, mask)
    assert np.nanargmax(scores) == 2
    assert np.isnan(scores[[0, 1, 3, 4]]).all()


def test_minimax_random_tie_break_is_seeded() -> None:
    obs, mask = _position("tictactoe", [])
    picks = {MinimaxAgent(seed).act(obs, mask) for seed in range(20)}
    assert len(picks) > 1
    assert MinimaxAgent(5).act(obs, mask) == MinimaxAgent(5).act(obs, mask)


def test_alphabeta_beats_random_at_least_95_percent() -> None:
    wins = 0
    for seat, other in (("player_0", "player_1"), ("player_1", "player_0")):
        results = play_matches("connect_four", {seat: AlphaBetaAgent(), other: RandomAgent(2)}, range(50))
        wins += sum(r.winner == seat for r in results)
    assert wins >= 95


def test_alphabeta_takes_an_immediate_win() -> None:
    # player_0 has three in the bottom row (columns 0, 1, 2); column 3 wins.
    obs, mask = _position("connect_four", [0, 0, 1, 1, 2, 6])
    assert AlphaBetaAgent().act(obs, mask) == 3


def test_alphabeta_blocks_an_immediate_loss() -> None:
    # player_0 threatens column 3 along the bottom row; player_1 must block it.
    obs, mask = _position("connect_four", [0, 6, 1, 6, 2])
    assert AlphaBetaAgent().act(obs, mask) == 3


def test_alphabeta_blocks_a_vertical_threat() -> None:
    obs, mask = _position("connect_four", [5, 0, 5, 1, 5])
    assert AlphaBetaAgent(depth=2).act(obs, mask) == 5


def test_alphabeta_depth_4_is_fast() -> None:
    agent = AlphaBetaAgent(depth=4)
    obs, mask = _position("connect_four", [3, 3, 2, 4])
    start = time.perf_counter()
    agent.act(obs, mask)
    assert time.perf_counter() - start < 0.05


ENGINES = ("gnugo", "stockfish")


def test_make_bot_builds_each_listed_bot() -> None:
    for game, names in BOTS.items():
        for name in names:
            if name in ENGINES and find_engine(name) is None:
                continue  # not installed here: tests/marl/test_go.py says so
            agent = make_bot(game, name, seed=0)
            obs, mask = _position(game, [])
            action = agent.act_moves([], obs, mask) if needs_moves(agent) else agent.act(obs, mask)
            assert mask[action]
            close_agents({"any": agent})
    deep = make_bot("connect_four", "alphabeta:6")
    assert isinstance(deep, AlphaBetaAgent) and deep.depth == 6


@pytest.mark.parametrize(
    ("game", "name"),
    [
        ("tictactoe", "alphabeta"),
        ("connect_four", "minimax"),
        ("tictactoe", "deep_blue"),
        ("connect_four", "alphabeta:x"),
    ],
)
def test_unknown_bot_name_is_rejected(game: str, name: str) -> None:
    with pytest.raises(ConfigError, match="unknown bot"):
        make_bot(game, name)
    assert issubclass(ConfigError, MarlError)


def test_bot_for_an_unknown_game_is_rejected() -> None:
    with pytest.raises(UnknownGameError):
        make_bot("go19", "random")
