"""An agent's chance in a game, for the play page's chart: from a value that means an outcome, never
from a heuristic squashed into [0, 1].

The number is the agent's expected score, a win counting 1 and a draw half, for the seat to move
(the agent, about to move). Where it comes from, best first:

- ``exact``: a solved game (tic-tac-toe, by ``marl.solved``'s negamax) gives the position's value
  under perfect play from both sides: 1 won, 0.5 drawn, 0 lost.
- ``proven``: a search that proved a forced win or loss within its horizon (alpha-beta's win
  scores); a heuristic score short of that says nothing calibrated, so it gives no number.
- ``search``: a tree search's root value, the mean outcome of its simulations.
- ``value``: a value network trained on game outcomes +1/0/-1 (az's value head; PPO's critic, whose
  target is the discounted outcome, so its values lean towards a draw far from the end).
- ``q``: DQN's best Q-value, regressed on the same outcome but unbounded, so clipped to [-1, 1].

A value ``v`` in [-1, 1] that estimates the outcome (win +1, draw 0, loss -1) is the expected score
``2p - 1``, so ``p = (v + 1) / 2``; that mapping is used only for such values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marl.solved import outcome as tictactoe_outcome
from marl.solved import won

SOURCES = ("exact", "proven", "search", "value", "q")
# Alpha-beta scores forced wins at 1e6 plus the depth left; heuristic scores stay in the thousands.
PROVEN_SCORE = 500_000.0


@dataclass(frozen=True)
class WinChance:
    """The expected score in [0, 1] and what it was computed from (one of ``SOURCES``)."""

    probability: float
    source: str

    def as_json(self) -> dict[str, float | str]:
        return {"win_probability": round(self.probability, 4), "win_source": self.source}


def from_outcome_value(value: float, source: str) -> WinChance:
    """An estimate of the outcome in [-1, 1] (clipped: networks are not bounded) as an expected score."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    v = max(-1.0, min(1.0, float(value)))
    return WinChance((v + 1.0) / 2.0, source)


def tictactoe_exact(moves: Sequence[int], seat: int | None = None) -> WinChance | None:
    """The exact value after ``moves`` (cells 0-8, the first seat first) for ``seat`` (0 the first,
    1 the second; default: the seat to move next), a finished game included; None for moves that are
    not a tic-tac-toe game (an occupied or unknown cell, a move after the end)."""
    bits = [0, 0]
    for ply, action in enumerate(moves):
        cell = int(action)
        over = won(bits[0]) or won(bits[1])
        if over or not 0 <= cell < 9 or (bits[0] | bits[1]) >> cell & 1:
            return None
        bits[ply % 2] |= 1 << cell
    mover = len(moves) % 2
    seat = mover if seat is None else seat
    if seat not in (0, 1):
        raise ValueError(f"seat must be 0 or 1, got {seat!r}")
    if won(bits[seat]) or won(bits[1 - seat]) or (bits[0] | bits[1]) == (1 << 9) - 1:
        return WinChance(1.0 if won(bits[seat]) else 0.0 if won(bits[1 - seat]) else 0.5, "exact")
    value = tictactoe_outcome(bits[mover], bits[1 - mover])  # for the seat to move
    return from_outcome_value(value if seat == mover else -value, "exact")


def exact(game: str, moves: Sequence[int], seat: int | None = None) -> WinChance | None:
    """The exact value for ``seat`` (default: the seat to move), where the game is solved here
    (tic-tac-toe); else None."""
    return tictactoe_exact(moves, seat) if game == "tictactoe" else None


def from_search_scores(best_score: float) -> WinChance | None:
    """A depth-limited search's best score: 1 or 0 when it proved a forced end, else no number."""
    if best_score >= PROVEN_SCORE:
        return WinChance(1.0, "proven")
    if best_score <= -PROVEN_SCORE:
        return WinChance(0.0, "proven")
    return None
