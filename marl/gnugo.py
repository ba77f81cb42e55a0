"""GNU Go as a player (``gnugo:L``): GTP subprocesses replaying each game from its move history.

The match loop hands an engine every move played so far (``PositionAgent``). A session (one GNU Go
process) whose board is a prefix of that history only ``play``s the new moves; otherwise a free or
the least recently used session starts over (``clear_board`` and the whole history). So one engine
serves each game in play, up to ``max_sessions`` at once in batched matches.
"""

from __future__ import annotations

import numpy as np

from marl import games_go as go
from marl.engines import GtpClient, require_engine
from marl.errors import ConfigError, EngineError, MarlError

LEVELS = range(1, 11)
DEFAULT_LEVEL = 1


class _Session:
    """One GNU Go process and the moves its board holds (``None``: unknown, start over)."""

    def __init__(self, argv: list[str], timeout_s: float) -> None:
        self.gtp = GtpClient(argv, name="gnugo", timeout_s=timeout_s)
        self.history: list[int] | None = None
        self.used = 0  # logical clock of the last use, for least-recently-used reuse

    def holds_prefix_of(self, moves: list[int]) -> bool:
        h = self.history
        return h is not None and len(h) <= len(moves) and moves[: len(h)] == h


def _colour(ply: int) -> str:
    return "b" if ply % 2 == 0 else "w"  # black moves first


class GnuGoAgent:
    """GNU Go at ``level`` 1..10 for go 9x9 (Chinese rules, komi as the game sets it).

    ``--capture-all-dead`` makes it remove dead stones before it passes, so PettingZoo's area count
    of the final position and GNU Go's own ``final_score`` agree.
    """

    needs_moves = True

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        seed: int | None = None,
        *,
        timeout_s: float = 30.0,
        max_sessions: int = 8,
    ) -> None:
        if int(level) not in LEVELS:
            raise ConfigError(f"GNU Go level must be in 1..10, got {level}")
        self.level = int(level)
        self.timeout_s = float(timeout_s)
        self.max_sessions = int(max_sessions)
        self.seed = 0 if seed is None else int(seed)
        self._binary = require_engine("gnugo")  # a missing engine is refused when the bot is chosen
        self._sessions: list[_Session] = []
        self.sessions_opened = 0  # one per game in play (batched matches show it)
        self._clock = 0

    def _argv(self) -> list[str]:
        return [
            self._binary,
            "--mode",
            "gtp",
            "--level",
            str(self.level),
            "--chinese-rules",
            "--capture-all-dead",
        ]

    def reset(self, seed: int | None = None) -> None:
        """New games ahead: ``seed`` becomes GNU Go's random seed for the games it starts."""
        if seed is not None:
            self.seed = int(seed) & 0x7FFF_FFFF

    def act_moves(self, moves: list[int], observation: np.ndarray, action_mask: np.ndarray) -> int:
        """GNU Go's move in the position ``moves`` reached (a resignation is played as a pass)."""
        session = self._session_for(moves)
        answer = session.gtp.command(f"genmove {_colour(len(moves))}").upper()
        action = go.PASS if answer == "RESIGN" else go.action_from_gtp(answer)
        session.history = [*moves, action]
        return action

    def final_score(self, moves: list[int]) -> str:
        """GNU Go's own count of the position ``moves`` reached, e.g. ``"W+7.5"``."""
        return self._session_for(moves).gtp.command("final_score")

    def _session_for(self, moves: list[int]) -> _Session:
        moves = [int(m) for m in moves]
        holding = [s for s in self._sessions if s.holds_prefix_of(moves)]
        if holding:
            session = max(holding, key=lambda s: len(s.history or ()))
        elif len(self._sessions) < self.max_sessions:
            session = _Session(self._argv(), self.timeout_s)
            self._sessions.append(session)
            self.sessions_opened += 1
        else:
            session = min(self._sessions, key=lambda s: s.used)
        self._clock += 1
        session.used = self._clock
        try:
            self._sync(session, moves)
        except EngineError:
            session.history = None  # a dead or confused engine starts over next time
            raise
        return session

    def _sync(self, session: _Session, moves: list[int]) -> None:
        if not session.holds_prefix_of(moves):
            for command in ("boardsize 9", "clear_board", f"komi {go.KOMI}", f"set_random_seed {self.seed}"):
                session.gtp.command(command)
            session.history = []
        history = session.history
        assert history is not None
        for ply in range(len(history), len(moves)):
            try:
                session.gtp.command(f"play {_colour(ply)} {go.gtp_coord(moves[ply])}")
            except EngineError as err:
                raise EngineError(f"GNU Go and the game disagree about move {ply + 1}: {err}") from None
            history.append(moves[ply])

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        raise MarlError("GNU Go plays from the move history: the match loop calls act_moves")

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        raise MarlError("GNU Go plays from the move history: the match loop calls act_moves")

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        """GNU Go's move values are not exposed."""
        return None

    def close(self) -> None:
        """Stop every GNU Go process (they would also die with this object)."""
        for session in self._sessions:
            session.gtp.close()
        self._sessions.clear()
