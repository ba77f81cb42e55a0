"""Poker matches: N hands with the blinds alternating, duplicate by default, scored in mbb per hand.

A hand is one game of the match loop and its seed is its deal (``marl.games_poker``). Deal ``i`` is
the first seed drawn from the match seed whose small blind falls on seat ``i % 2``, so the blinds
alternate. Duplicate poker plays every deal twice with the players' seats swapped: the same cards go
to the same seat, so each player holds both hands of every deal and most of the cards' luck cancels.
Results are player A's chips won per hand in milli-big-blinds, with a 95% interval from the spread
of independent units (duplicate pairs, or single hands).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marl.errors import MarlError
from marl.games import GameSpec, get_game
from marl.games_poker import small_blind_seat
from marl.match import MatchResult, MatchState, derive_seed, play_matches

if TYPE_CHECKING:
    from marl.agents import Agent

_DEAL_STREAM = 2_000_003
_Z95 = 1.959964


def deal_seeds(game: str | GameSpec, seed: int, deals: int) -> list[int]:
    """``deals`` hand seeds from ``seed``, the small blind on seat 0, 1, 0, 1, ... in turn."""
    spec = game if isinstance(game, GameSpec) else get_game(game)
    if not spec.hidden_information:
        raise MarlError(f"{spec.name} is not a poker game")
    seeds: list[int] = []
    draw = 0
    while len(seeds) < deals:
        candidate = derive_seed(seed, _DEAL_STREAM + draw)
        draw += 1
        with MatchState(spec, candidate) as state:
            if small_blind_seat(state.env.unwrapped) == spec.seats[len(seeds) % 2]:
                seeds.append(candidate)
    return seeds


@dataclass
class PokerMatch:
    """Player A's result over a match: chips per hand, in big blinds, one entry per unit."""

    game: str
    seeds: list[int]
    duplicate: bool
    units: list[float]  # A's big blinds per hand of each duplicate pair (or each single hand)
    hands: list[MatchResult]

    @property
    def mbb_per_hand(self) -> float:
        return 1000.0 * sum(self.units) / len(self.units)

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% interval of ``mbb_per_hand`` (normal, from the units' sample variance)."""
        n = len(self.units)
        if n < 2:
            return (-math.inf, math.inf)
        mean = sum(self.units) / n
        variance = sum((u - mean) ** 2 for u in self.units) / (n - 1)
        half = _Z95 * math.sqrt(variance / n) * 1000.0
        return (self.mbb_per_hand - half, self.mbb_per_hand + half)

    def to_json(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "game": self.game,
            "hands": len(self.hands),
            "duplicate": self.duplicate,
            "mbb_per_hand": round(self.mbb_per_hand, 1),
            "low": round(low, 1),
            "high": round(high, 1),
        }


def play_poker_match(
    game: str | GameSpec,
    player_a: Agent,
    player_b: Agent,
    *,
    deals: int,
    seed: int,
    duplicate: bool = True,
) -> PokerMatch:
    """``deals`` deals between A and B; with ``duplicate`` each is played twice, seats swapped."""
    spec = game if isinstance(game, GameSpec) else get_game(game)
    if deals < 1:
        raise MarlError(f"a poker match needs at least one deal, got {deals}")
    seeds = deal_seeds(spec, seed, deals)
    one, two = spec.seats
    firsts = play_matches(spec, {one: player_a, two: player_b}, seeds)
    bb = spec.big_blinds_per_return
    if not duplicate:
        units = [r.returns[one] * bb for r in firsts]
        return PokerMatch(spec.name, seeds, False, units, firsts)
    seconds = play_matches(spec, {one: player_b, two: player_a}, seeds)
    units = [(f.returns[one] + s.returns[two]) * bb / 2 for f, s in zip(firsts, seconds, strict=True)]
    return PokerMatch(spec.name, seeds, True, units, [*firsts, *seconds])


def hand_cards(game: str, seed: int, moves: Sequence[int] = ()) -> dict[str, list[str]]:
    """Every seat's hole cards of the hand dealt by ``seed`` (for tests and replays, not for players)."""
    with MatchState(game, seed, moves) as state:
        raw = state.env.unwrapped
        return {
            seat: [c.get_index() for c in _as_list(p.hand)]
            for seat, p in zip(state.spec.seats, raw.env.game.players, strict=True)
        }


def _as_list(hand: Any) -> list[Any]:
    return list(hand) if isinstance(hand, list | tuple) else [hand]
