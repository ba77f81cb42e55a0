"""Stockfish as a player: a supervised UCI subprocess driven through python-chess's ``chess.engine``.

The agent is a ``PositionAgent``: the match loop hands it the move history, which it replays on a
python-chess board and sends as the position. Building one starts nothing (bot specs are checked by
building them); the engine process starts at the first move, is closed when the match loop is done
with the game (``close``), and is killed and started afresh when it crashes, hangs past the move time
limit or answers with a move that is not legal. A second failure in a row raises ``EngineError``: the
match fails, the worker goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.engine
import numpy as np

from marl.errors import ConfigError, EngineError
from marl.games_chess import board_from_actions, move_to_action

logger = logging.getLogger(__name__)

MAX_SKILL = 20
DEFAULT_NODES = 2_000  # nodes a move: milliseconds of search, enough for every skill level to differ
MAX_NODES = 10_000_000
# A move must come within this many seconds (the search itself is bounded by nodes and this time).
MOVE_SECONDS = 5.0
# Grace on top of the move time for the answer to arrive, and for the engine to start.
GRACE_SECONDS = 5.0


def stockfish_command() -> list[str]:
    """How to start Stockfish: ``ARENA_STOCKFISH`` if set (a command line), else the binary on PATH,
    else where Debian's package puts it (``/usr/games`` is not on every PATH)."""
    configured = os.environ.get("ARENA_STOCKFISH", "").strip()
    if configured:
        return shlex.split(configured)
    debian = Path("/usr/games/stockfish")
    found = shutil.which("stockfish") or (str(debian) if debian.exists() else None)
    if found is None:
        raise EngineError("stockfish is not installed (apt-get install stockfish, or `make install-engines`)")
    return [found]


@dataclass(frozen=True)
class StockfishLevel:
    """How strongly Stockfish plays: its Skill Level (0 weakest, 20 full strength) and nodes a move."""

    skill: int = 0
    nodes: int = DEFAULT_NODES

    def __post_init__(self) -> None:
        if not 0 <= self.skill <= MAX_SKILL:
            raise ConfigError(f"stockfish skill level must be in 0..{MAX_SKILL}, got {self.skill}")
        if not 1 <= self.nodes <= MAX_NODES:
            raise ConfigError(f"stockfish nodes a move must be in 1..{MAX_NODES}, got {self.nodes}")


class StockfishAgent:
    """Plays chess moves chosen by Stockfish at ``level``; one engine process while a game is played."""

    needs_moves = True

    def __init__(
        self,
        level: StockfishLevel | None = None,
        *,
        move_seconds: float = MOVE_SECONDS,
        grace_seconds: float = GRACE_SECONDS,
        command: list[str] | None = None,
    ) -> None:
        self.level = level or StockfishLevel()
        self.move_seconds, self.grace_seconds = float(move_seconds), float(grace_seconds)
        self.command = command  # None: the installed binary, found at the first move
        self.engine: chess.engine.SimpleEngine | None = None
        self.starts = 0  # engine processes started over this agent's life (restarts included)

    def reset(self, seed: int | None = None) -> None:
        """A new game: the engine is kept (it is told a new game by the position it is sent)."""

    def act_moves(self, moves: list[int], observation: np.ndarray, action_mask: np.ndarray) -> int:
        """Stockfish's move in the position reached by ``moves``, as the env's action index."""
        board = board_from_actions(moves)
        try:
            move = self._search(board)
        except EngineError as first:
            logger.warning("stockfish failed (%s); restarting it once", first)
            self.close()
            move = self._search(board)  # a second failure propagates: the match fails
        action = move_to_action(board, move)
        if not action_mask[action]:
            raise EngineError(f"stockfish's move {move.uci()} is not in the game's legal moves")
        return action

    def _search(self, board: chess.Board) -> chess.Move:
        engine = self._engine()
        limit = chess.engine.Limit(nodes=self.level.nodes, time=self.move_seconds)
        try:
            played = engine.play(board, limit)
        except (chess.engine.EngineError, TimeoutError, OSError) as exc:
            self.close()
            raise EngineError(f"stockfish gave no move within {self.move_seconds:g}s: {exc!r}") from exc
        if played.move is None or played.move not in board.legal_moves:
            self.close()
            raise EngineError(f"stockfish answered {played.move} in {board.fen()}, not a legal move")
        return played.move

    def _engine(self) -> chess.engine.SimpleEngine:
        if self.engine is not None:
            return self.engine
        command = self.command or stockfish_command()
        try:
            engine = chess.engine.SimpleEngine.popen_uci(command, timeout=self.grace_seconds)
            engine.configure({"Threads": 1, "Hash": 16, "Skill Level": self.level.skill})
        except (chess.engine.EngineError, TimeoutError, OSError) as exc:
            raise EngineError(f"stockfish did not start: {exc!r}") from exc
        self.engine, self.starts = engine, self.starts + 1
        return engine

    @property
    def pid(self) -> int | None:
        """The running engine's process id (None before the first move and after ``close``)."""
        return None if self.engine is None else self.engine.transport.get_pid()

    def close(self) -> None:
        """Stop the engine process (killed if it does not quit); the next move starts a new one."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()  # closes the transport, which kills a process that is still running

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        raise EngineError("stockfish needs the move history: the match loop calls act_moves")

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        raise EngineError("stockfish needs the move history: the match loop calls act_moves")

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        """No per-move values: Stockfish is used as a player, not an analyser."""
        return None

    def __del__(self) -> None:  # a forgotten agent must not leave an engine process behind
        with contextlib.suppress(Exception):  # at interpreter shutdown there is nothing left to do
            self.close()
