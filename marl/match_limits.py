"""How a game ends besides its rules: the move bound (with the game's adjudication) and time limits,
and the timed calls into agents that enforce them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from marl.agents import needs_moves
from marl.errors import MarlError, TimeLimitError

if TYPE_CHECKING:
    from marl.games import GameSpec


class _Timed(Protocol):
    spec: GameSpec
    thinking_s: dict[str, float]
    moves: list[int]

    @property
    def ply(self) -> int: ...


def decide_at_move_bound(spec: GameSpec, raw: Any) -> tuple[str, dict[str, float]]:
    """``(reason, returns)`` for a game still running at ``spec.max_moves``.

    The game's ``adjudicate`` decides it when it has one (go scores the board); otherwise it is an
    undecided draw with reason ``"max_moves"``.
    """
    if spec.adjudicate is None:
        return "max_moves", dict.fromkeys(spec.seats, 0.0)
    decided = spec.adjudicate(raw)
    returns = {seat: float(decided["returns"][seat]) for seat in spec.seats}
    return str(decided.get("reason", "max_moves")), returns


def charge_time(state: _Timed, seat: str, seconds: float) -> None:
    """Book ``seconds`` of thinking to ``seat``; ``TimeLimitError`` past the game's move or game limit.

    The limits catch stuck players; they fail the match rather than decide it, so a result never
    depends on the machine's speed.
    """
    spec = state.spec
    if seconds > spec.move_time_limit_s:
        raise TimeLimitError(
            f"{spec.name}: {seat} took {seconds:.1f}s over move {state.ply + 1}; "
            f"the move time limit is {spec.move_time_limit_s:g}s"
        )
    used = state.thinking_s[seat] = state.thinking_s.get(seat, 0.0) + seconds
    if used > spec.game_time_limit_s:
        raise TimeLimitError(
            f"{spec.name}: {seat} has used {used:.0f}s in this game; the game time limit is "
            f"{spec.game_time_limit_s:g}s"
        )


def act_for_group(
    agent: Any, seat: str, group: Sequence[_Timed], pairs: list[tuple[np.ndarray, np.ndarray]]
) -> Sequence[int]:
    """One action per game of ``group`` for ``seat``, its thinking time booked to each game."""
    if needs_moves(agent):  # an engine replays each game's own position, one at a time
        actions = []
        for state, (obs, mask) in zip(group, pairs, strict=True):
            started = time.monotonic()
            actions.append(agent.act_moves(list(state.moves), obs, mask))  # type: ignore[union-attr]
            charge_time(state, seat, time.monotonic() - started)
        return actions
    started = time.monotonic()
    observations = np.stack([obs for obs, _ in pairs])
    masks = np.stack([mask for _, mask in pairs])
    actions = agent.act_batch(observations, masks)  # type: ignore[union-attr]
    if len(actions) != len(group):
        raise MarlError(f"act_batch returned {len(actions)} actions for {len(group)} games")
    share = (time.monotonic() - started) / len(group)  # one forward pass served the whole group
    for state in group:
        charge_time(state, seat, share)
    return actions
