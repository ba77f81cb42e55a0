"""Go 9x9: the registry entry, its coordinates and scoring, and GNU Go as a player."""

from __future__ import annotations

import dataclasses
import os
import signal

import numpy as np
import pytest

from marl import games_go as go
from marl.agents import RandomAgent
from marl.bots import make_bot
from marl.engines import find_engine
from marl.errors import ConfigError, EngineError, IllegalMoveError
from marl.games import GAMES, get_game
from marl.match import MatchState, Step, play_match, play_matches

needs_gnugo = pytest.mark.skipif(
    find_engine("gnugo") is None, reason="GNU Go is not installed (make install-engines)"
)
SPEC = get_game("go9")


def test_go9_is_pettingzoos_go_v5_on_a_9x9_board_with_its_komi() -> None:
    with MatchState("go9") as state:
        obs, mask = state.observation()
        assert obs.shape == SPEC.obs_shape == (9, 9, 17)
        assert mask.shape == (SPEC.n_actions,) == (82,)
        assert state.env.unwrapped._komi == go.KOMI == 7.5
        board = state.state_json()
    assert board["to_move"] == "black_0" and len(board["legal_moves"]) == 82
    assert board["passes"] == 0 and board["last_move"] is None and board["size"] == 9


@pytest.mark.parametrize(
    ("action", "vertex"), [(0, "A9"), (8, "J9"), (72, "A1"), (80, "J1"), (59, "F3"), (81, "pass")]
)
def test_actions_read_as_gtp_vertices_and_back(action: int, vertex: str) -> None:
    assert go.gtp_coord(action) == vertex
    assert go.action_from_gtp(vertex.lower()) == action


@pytest.mark.parametrize("text", ["I5", "A10", "K1", "A0", "", "E"])
def test_a_vertex_off_the_board_is_refused(text: str) -> None:
    with pytest.raises(IllegalMoveError, match="not a point of a 9x9 board"):
        go.action_from_gtp(text)


def test_a_human_move_comes_as_row_and_col_a_pass_or_an_action_index() -> None:
    with MatchState("go9") as state:
        assert SPEC.move_from_json(state.env, {"row": 4, "col": 4}) == 40
        assert SPEC.move_from_json(state.env, {"pass": True}) == 81
        assert SPEC.move_from_json(state.env, 80) == 80
        state.apply(40)
        with pytest.raises(IllegalMoveError, match=r"E5 \(action 40\) is not a legal move"):
            SPEC.move_from_json(state.env, {"row": 4, "col": 4})
        with pytest.raises(IllegalMoveError, match=r'"pass": true'):
            SPEC.move_from_json(state.env, {"pass": False})
        with pytest.raises(IllegalMoveError, match=r"'row' must be in 0..8"):
            SPEC.move_from_json(state.env, {"row": 9, "col": 0})
        with pytest.raises(IllegalMoveError, match=r'or \{"pass": true\}'):
            SPEC.move_from_json(state.env, {"vertex": "E5"})
        assert state.ply == 1  # nothing refused changed the game


def test_the_state_shows_captures_the_last_move_and_passes() -> None:
    # Black surrounds white's stone on A9 (action 0) with B9 and A8 and captures it.
    moves = [1, 0, 9]
    with MatchState("go9", 0, moves) as state:
        board = state.state_json()
        assert board["board"][0][0] == 0 and board["board"][0][1] == 1
        assert board["captures"] == {"black_0": 1, "white_0": 0}
        assert board["last_move"] == {"action": 9, "gtp": "A8"}
        state.apply(go.PASS)
        assert state.state_json()["passes"] == 1


def test_two_passes_end_the_game_scored_by_area_with_komi() -> None:
    with MatchState("go9", 0, [40, go.PASS, go.PASS]) as state:
        board = state.state_json()
    score = board["score"]
    assert (score["black"], score["white"], score["komi"]) == (81, 0, 7.5)
    assert score["text"] == "B+73.5" and board["result"]["winner"] == "black_0"


def test_a_game_at_its_move_bound_is_scored_as_it_stands() -> None:
    spec = dataclasses.replace(SPEC, max_moves=30)
    result = play_match(spec, {"black_0": RandomAgent(0), "white_0": RandomAgent(1)}, seed=2)
    with MatchState(spec, 2, result.moves) as state:
        board = state.state_json()
    assert result.reason == "move_limit" and len(result.moves) == 30
    assert result.winner == board["score"]["winner"] == board["result"]["winner"]


def test_a_stored_move_list_replays_to_the_same_final_position() -> None:
    last: list[dict] = []

    def watch(step: Step) -> None:
        last[:] = [step.state.state_json()]

    result = play_match("go9", {"black_0": RandomAgent(3), "white_0": RandomAgent(4)}, seed=7, on_step=watch)
    with MatchState("go9", 7, result.moves) as replayed:
        assert replayed.state_json() == last[0]
        assert replayed.result() == result


def test_gnugo_levels_are_checked_when_the_bot_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown bot 'gnugo:1' for connect_four"):
        make_bot("connect_four", "gnugo:1")
    with pytest.raises(ConfigError, match=r"random, eyes, gnugo \(gnugo:L for GNU Go at level L, 1-10\)"):
        make_bot("go9", "minimax")
    with pytest.raises(ConfigError, match="unknown bot 'eyes:3' for go9"):
        make_bot("go9", "eyes:3")  # the eyes bot takes no number
    if find_engine("gnugo") is not None:
        with pytest.raises(ConfigError, match="level must be in 1..10"):
            make_bot("go9", "gnugo:11")


@needs_gnugo
@pytest.mark.parametrize("opponent", ["gnugo:1", "random"])
def test_a_full_game_against_gnugo_ends_with_the_score_gnugo_agrees_with(opponent: str) -> None:
    gnugo = make_bot("go9", "gnugo:1", seed=0)
    other = make_bot("go9", opponent, seed=1)
    try:
        result = play_match("go9", {"black_0": other, "white_0": gnugo}, seed=5)
        assert result.reason == "win"  # two passes, not the move bound
        with MatchState("go9", 5, result.moves) as state:
            ours = state.state_json()["score"]["text"]
        assert gnugo.final_score(result.moves) == ours
    finally:
        gnugo.close()
        if opponent != "random":
            other.close()


@needs_gnugo
def test_gnugo_killed_mid_game_fails_that_match_and_the_next_match_works() -> None:
    gnugo = make_bot("go9", "gnugo:1")
    agents = {"black_0": gnugo, "white_0": RandomAgent(1)}

    def kill_at_ply_10(step: Step) -> None:
        if step.ply == 10:
            for session in gnugo._sessions:
                os.kill(session.gtp.process.pid, signal.SIGKILL)

    try:
        with pytest.raises(EngineError, match="gnugo .*killed and will be restarted"):
            play_match("go9", agents, seed=0, on_step=kill_at_ply_10)
        result = play_match("go9", agents, seed=0)
        assert result.reason in ("win", "move_limit") and len(result.moves) > 10
    finally:
        gnugo.close()


@needs_gnugo
def test_batched_games_against_gnugo_each_get_their_own_engine() -> None:
    gnugo = make_bot("go9", "gnugo:1")
    try:
        seeds = [0, 1, 2]
        results = play_matches("go9", {"black_0": RandomAgent(0), "white_0": gnugo}, seeds)
        assert gnugo.sessions_opened == 3
        assert not gnugo._sessions  # the match loop stopped them when the games ended
        assert {r.winner for r in results} == {"white_0"}
        for seed, result in zip(seeds, results, strict=True):
            with MatchState("go9", seed, result.moves) as state:  # every game replays as played
                assert state.done
    finally:
        gnugo.close()


def test_go_is_in_the_registry_with_its_renderer() -> None:
    assert GAMES["go9"].render_hint == "go"
    assert np.array_equal(np.asarray(go.read_board(MatchState("go9", 0, [0]).env.unwrapped))[0, :2], [1, 0])
