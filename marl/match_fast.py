"""A match state on a fast game core, for batched games nobody watches (``play_matches`` without ``on_step``).

``FastMatchState`` offers the part of ``MatchState`` the batched loop uses (``done``, ``to_move``,
``observation``, ``apply``, ``forfeit`` and the result fields) over ``marl.fastgames``, whose rules,
rewards, masks and observation planes equal PettingZoo's move for move; ``tests/marl/test_match.py``
compares whole batches of games both ways. No env is built or stepped.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from marl.errors import IllegalMoveError, MarlError
from marl.fastgames import FAST_GAMES, FastGame
from marl.games import GameSpec, winner_of


def has_fast_core(spec: GameSpec) -> bool:
    """Whether ``spec``'s game has a fast core to play batched games on (one that adjudicates at its
    move bound needs the env to do it)."""
    return spec.name in FAST_GAMES and spec.adjudicate is None


class FastMatchState:
    """One game on a fast core: seat names, results and forfeits as ``MatchState`` gives them."""

    def __init__(self, spec: GameSpec, seed: int, moves: Sequence[int] = (), opening_plies: int = 0) -> None:
        self.spec = spec
        self.seed = int(seed)
        self.opening_plies = int(opening_plies)
        self.moves: list[int] = []
        self.max_moves = spec.max_moves
        self.env = None  # nothing to recycle
        self._game: FastGame = FAST_GAMES[spec.name]()
        self._forced: dict[str, Any] | None = None
        self.thinking_s: dict[str, float] = {}  # as MatchState.thinking_s
        self._observed: tuple[np.ndarray, np.ndarray] | None = None
        for i, action in enumerate(moves):
            try:
                self.apply(action)
            except IllegalMoveError as err:  # worded as MatchState words it
                raise IllegalMoveError(
                    f"stored move {i + 1} ({action!r}) cannot be replayed: {err}"
                ) from None

    @property
    def ply(self) -> int:
        return len(self.moves)

    @property
    def done(self) -> bool:
        return self._game.terminal or self._forced is not None

    @property
    def to_move(self) -> str | None:
        return None if self.done else self.spec.seats[self._game.to_move]

    def observation(self) -> tuple[np.ndarray, np.ndarray]:
        """``(obs, mask)`` of the seat to move, the planes and mask PettingZoo would give."""
        if self.done:
            raise MarlError("the game is over: no seat is to move")
        if self._observed is None:
            self._observed = (self._game.observation(), self._game.legal_mask())
        return self._observed

    def apply(self, action: object) -> None:
        """Play ``action`` for the seat to move; ``IllegalMoveError`` (and no change) when it is not legal."""
        if self.done:
            raise IllegalMoveError("the game is over")
        if not isinstance(action, numbers.Integral) or isinstance(action, bool | np.bool_):
            raise IllegalMoveError(f"a move must be an integer action index, got {action!r}")
        index = int(action)
        if index not in self._game.legal_actions():
            raise IllegalMoveError(f"action {index} is not a legal move here")
        self._game.play(index)
        self.moves.append(index)
        self._observed = None
        if not self._game.terminal and len(self.moves) >= self.max_moves:
            self._forced = {
                "winner": None,
                "returns": dict.fromkeys(self.spec.seats, 0.0),
                "reason": "max_moves",
            }

    def forfeit(self, seat: str, reason: str = "illegal_move") -> None:
        """End the game because ``seat`` broke the rules: -1 for it, 0 for the others."""
        if self.done:
            raise MarlError("the game is already over")
        returns = {s: (-1.0 if s == seat else 0.0) for s in self.spec.seats}
        self._forced = {"winner": winner_of(returns), "returns": returns, "reason": reason}

    def _result_fields(self) -> dict[str, Any]:
        if self._forced is not None:
            return {**self._forced, "returns": dict(self._forced["returns"])}
        returns = {seat: float(self._game.reward(i)) for i, seat in enumerate(self.spec.seats)}
        winner = winner_of(returns)
        return {"winner": winner, "returns": returns, "reason": "win" if winner else "draw"}
