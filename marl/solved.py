"""Strength against perfect play: exact for tic-tac-toe, against the alpha-beta ladder for connect four.

Tic-tac-toe is small enough to walk every position a policy can reach. A policy is an ``Agent`` (its
``act``) or any callable ``(observation, action_mask) -> action``; it is asked once per position and
taken to be greedy (the same position gets the same move).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from marl.bots import make_bot
from marl.errors import MarlError
from marl.game_pairs import play_pairs
from marl.games import get_game

if TYPE_CHECKING:
    from marl.agents import Agent

Policy = Callable[[np.ndarray, np.ndarray], int]

# Bit i is action i; PettingZoo's observation flattened row-major lists the cells in action order.
_LINES = tuple(
    sum(1 << i for i in line)
    for line in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
)
_FULL = (1 << 9) - 1


def won(bits: int) -> bool:
    """Whether `bits` (a seat's cells) hold a line of three."""
    return any(bits & line == line for line in _LINES)


def _moves(mine: int, theirs: int) -> list[int]:
    empty = _FULL & ~(mine | theirs)
    return [a for a in range(9) if empty >> a & 1]


@cache
def outcome(mine: int, theirs: int) -> int:
    """Game-theoretic value for the side to move: 1 win, 0 draw, -1 loss (the game is not over)."""
    moves = _moves(mine, theirs)
    return max(move_outcome(mine, theirs, a) for a in moves) if moves else 0


@cache
def move_outcome(mine: int, theirs: int, action: int) -> int:
    """Value of ``action`` for the side to move, under perfect play after it."""
    after = mine | 1 << action
    if won(after):
        return 1
    if after | theirs == _FULL:
        return 0
    return -outcome(theirs, after)


def _observation(mine: int, theirs: int) -> tuple[np.ndarray, np.ndarray]:
    cells = np.arange(9)
    planes = np.stack([(mine >> cells) & 1, (theirs >> cells) & 1], axis=1).astype(np.int8)
    mask = (1 - ((mine | theirs) >> cells & 1)).astype(np.int8)
    return planes.reshape(3, 3, 2), mask


@dataclass(frozen=True)
class PerfectPlayReport:
    """How a tic-tac-toe policy in one seat fares against perfect play.

    ``positions`` counts the distinct positions it can face (its own moves as it plays them, the
    opponent's moves all of them), ``mistakes`` those where its move changes the game-theoretic result
    for the worse. ``win``/``draw``/``loss`` are exact probabilities against a perfect opponent that picks
    uniformly among its equal-best moves (equal by result: win, draw or loss).
    """

    seat: str
    positions: int
    mistakes: int
    win: float
    draw: float
    loss: float

    @property
    def mistake_share(self) -> float:
        """Share of reachable positions where the policy's move is not optimal."""
        return self.mistakes / self.positions if self.positions else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "seat": self.seat,
            "positions": self.positions,
            "mistakes": self.mistakes,
            "mistake_share": self.mistake_share,
            "win": self.win,
            "draw": self.draw,
            "loss": self.loss,
        }


class _Walk:
    """The policy's choices cached per position (mover's bits, opponent's bits)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.choices: dict[tuple[int, int], int] = {}

    def choice(self, mine: int, theirs: int) -> int:
        key = (mine, theirs)
        if key not in self.choices:
            obs, mask = _observation(mine, theirs)
            action = int(self.policy(obs, mask))
            if not (0 <= action < 9 and mask[action]):
                raise MarlError(f"the policy played an illegal move {action} in position {key}")
            self.choices[key] = action
        return self.choices[key]

    def reach(self, mine: int, theirs: int, ours: bool) -> None:
        """Visit every position reachable from here: ``ours`` when the policy's side is to move."""
        if won(theirs) or mine | theirs == _FULL:
            return
        if ours:
            self.reach(theirs, mine | 1 << self.choice(mine, theirs), False)
            return
        for action in _moves(mine, theirs):
            self.reach(theirs, mine | 1 << action, True)

    def results(self, mine: int, theirs: int, ours: bool) -> np.ndarray:
        """``[win, draw, loss]`` probabilities for the policy's side from here, against perfect play."""
        if won(theirs):  # the side that just moved won
            return np.array([0.0, 0.0, 1.0]) if ours else np.array([1.0, 0.0, 0.0])
        if mine | theirs == _FULL:
            return np.array([0.0, 1.0, 0.0])
        if ours:
            return self.results(theirs, mine | 1 << self.choice(mine, theirs), False)
        values = {a: move_outcome(mine, theirs, a) for a in _moves(mine, theirs)}
        best = [a for a, v in values.items() if v == max(values.values())]
        return sum(self.results(theirs, mine | 1 << a, True) for a in best) / len(best)


def _as_policy(policy: Agent | Policy) -> Policy:
    act = getattr(policy, "act", None)
    if callable(act):
        return act  # type: ignore[no-any-return]
    if callable(policy):
        return policy
    raise MarlError(f"a policy is an agent or a callable (observation, mask) -> action, got {policy!r}")


def tictactoe_against_perfect_play(policy: Agent | Policy, seat: str) -> PerfectPlayReport:
    """Exact mistake share and win/draw/loss rates of ``policy`` playing ``seat`` (no sampling)."""
    seats = get_game("tictactoe").seats
    if seat not in seats:
        raise MarlError(f"seat must be one of {seats}, got {seat!r}")
    walk = _Walk(_as_policy(policy))
    first = seat == seats[0]
    walk.reach(0, 0, first)
    win, draw, loss = walk.results(0, 0, first)
    mistakes = sum(
        move_outcome(mine, theirs, action) < outcome(mine, theirs)
        for (mine, theirs), action in walk.choices.items()
    )
    return PerfectPlayReport(seat, len(walk.choices), mistakes, float(win), float(draw), float(loss))


def alphabeta_ladder(
    agent: Agent,
    *,
    depths: Sequence[int] = (1, 2, 4),
    pairs: int = 20,
    seed: int = 0,
    plies: int | None = None,
) -> dict[int, float]:
    """Connect four: ``agent``'s mean score (0..1 per game) against alpha-beta at each depth.

    Each rung is ``pairs`` game pairs from openings drawn from ``seed, seed + 1, ...`` (``plies``
    random plies, the game's default when ``None``), seats swapped within each pair.
    """
    seeds = range(seed, seed + pairs)
    scores = {}
    for depth in depths:
        bot = make_bot("connect_four", f"alphabeta:{depth}")
        played = play_pairs("connect_four", agent, bot, seeds, plies=plies)
        scores[depth] = sum(p.score() for p in played) / (2 * pairs)
    return scores
