"""Stockfish as a bot: real games against the real engine, and an engine that crashes, hangs or dies."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import chess
import pytest

from marl.agents import RandomAgent
from marl.bots import make_bot
from marl.engines import find_engine
from marl.errors import ConfigError, EngineError
from marl.games_chess import board_from_actions
from marl.match import play_match, play_matches
from marl.stockfish import StockfishAgent, StockfishLevel, stockfish_command

FAKE = Path(__file__).with_name("fake_uci.py")
needs_stockfish = pytest.mark.skipif(
    find_engine("stockfish") is None, reason="Stockfish is not installed (make install-engines)"
)


def _fake(tmp_path: Path, mode: str, good: int) -> list[str]:
    return [sys.executable, str(FAKE), mode, str(tmp_path / "searches"), str(good)]


def _live(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped: count it as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@needs_stockfish
def test_a_full_game_against_the_weakest_stockfish_ends_with_a_result_both_sides_agree_on() -> None:
    engine = make_bot("chess", "stockfish:0")
    result = play_match("chess", {"player_0": RandomAgent(1), "player_1": engine}, seed=2)
    outcome = board_from_actions(result.moves).outcome(claim_draw=True)
    assert outcome is not None, "python-chess says the game is still running"
    white_score = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}[outcome.result()]
    assert result.returns == {"player_0": white_score, "player_1": -white_score}
    assert result.reason == {chess.Termination.CHECKMATE: "checkmate"}.get(outcome.termination, result.reason)
    assert result.winner == "player_1"  # even its weakest setting mates a random mover
    assert engine.engine is None and engine.starts == 1  # one process for the game, closed after


def test_bot_specs_set_the_skill_level_and_nodes_and_bad_ones_are_refused() -> None:
    assert make_bot("chess", "stockfish").level == StockfishLevel(0)
    assert make_bot("chess", "stockfish:7:500").level == StockfishLevel(7, 500)
    assert make_bot("chess", "stockfish:3").engine is None  # building a bot starts no process
    for bad, message in [
        ("stockfish:21", "0..20"),
        ("stockfish:1:0", "nodes"),
        ("stockfish:x", "unknown bot"),
    ]:
        with pytest.raises(ConfigError, match=message):
            make_bot("chess", bad)
    with pytest.raises(ConfigError, match="unknown bot"):
        make_bot("tictactoe", "stockfish:0")


@needs_stockfish
def test_a_killed_engine_is_restarted_and_the_game_goes_on() -> None:
    engine = make_bot("chess", "stockfish:0")
    pids: list[int] = []

    def kill_after_move_six(step) -> None:
        if step.ply == 6:
            pids.append(engine.pid)
            os.kill(engine.pid, signal.SIGKILL)

    result = play_match(
        "chess", {"player_0": engine, "player_1": RandomAgent(3)}, seed=4, on_step=kill_after_move_six
    )
    assert result.reason in {"checkmate", "stalemate", "repetition", "fifty_moves", "insufficient_material"}
    assert engine.starts == 2 and not _live(pids[0])


@needs_stockfish
@pytest.mark.parametrize("mode", ["crash", "hang"])
def test_an_engine_that_keeps_failing_mid_game_fails_the_match_and_the_next_match_works(
    tmp_path: Path, mode: str
) -> None:
    broken = StockfishAgent(command=_fake(tmp_path, mode, good=3), move_seconds=0.5, grace_seconds=1.0)
    with pytest.raises(EngineError, match="no move within"):
        play_match("chess", {"player_0": broken, "player_1": RandomAgent(0)}, seed=1)
    assert broken.engine is None  # closed: no process left behind by the failed match
    assert broken.starts == 2  # it was restarted once before giving up
    results = play_matches(
        "chess", {"player_0": make_bot("chess", "stockfish:0"), "player_1": RandomAgent(0)}, [1, 2]
    )
    assert [r.winner for r in results] == ["player_0", "player_0"]


def test_a_missing_engine_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_STOCKFISH", "/nonexistent/stockfish")
    assert stockfish_command() == ["/nonexistent/stockfish"]
    with pytest.raises(EngineError, match="did not start"):
        play_match(
            "chess", {"player_0": make_bot("chess", "stockfish:0"), "player_1": RandomAgent(0)}, seed=1
        )
