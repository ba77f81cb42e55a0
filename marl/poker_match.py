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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marl.errors import MarlError
from marl.games import GameSpec, get_game
from marl.games_poker import small_blind_seat
from marl.match import MatchResult, MatchState, derive_seed, play_matches

if TYPE_CHECKING:
    from marl.agents import Agent

_DEAL_STREAM = 2_000_003
# Deals per batched loop: between two loops a caller hears how far the match is (a worker's heartbeat,
# a spectator's progress), and the batch stays small enough to keep memory flat.
DEALS_PER_LOOP = 50
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


def _at(player: Agent | Mapping[str, Agent], seat: str) -> Agent:
    """The player's agent for ``seat``: a checkpoint learns each seat apart, a bot plays both."""
    return player[seat] if isinstance(player, Mapping) else player


@dataclass
class PokerMatch:
    """Player A's result over a match: chips per hand, in big blinds, one entry per unit.

    ``hands`` holds the first pass (A in the first seat) then, in duplicate, the second (seats swapped).
    """

    game: str
    seeds: list[int]
    duplicate: bool
    units: list[float]  # A's big blinds per hand of each duplicate pair (or each single hand)
    hands: list[MatchResult]
    seed: int = 0  # the match's seed, from which the deals were drawn

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
            "low": round(low, 1) if math.isfinite(low) else None,
            "high": round(high, 1) if math.isfinite(high) else None,
        }

    def hand_records(self) -> list[dict[str, Any]]:
        """Every hand as a replay needs it, in the order the small blind alternates between A and B.

        A is the match's first seat, B its second: ``chips`` (big blinds won) names each player by
        that seat, and ``swapped`` says the two sat the other way round in this hand. Deal ``i`` has
        its small blind on seat ``i % 2``, so its hand with A in that seat comes first."""
        one, two = get_game(self.game).seats
        bb = get_game(self.game).big_blinds_per_return
        deals = len(self.seeds)
        passes = [(False, self.hands[:deals])] + ([(True, self.hands[deals:])] if self.duplicate else [])
        records: list[dict[str, Any]] = []
        for i, seed in enumerate(self.seeds):
            pair = [(swapped, hands[i]) for swapped, hands in passes]
            for swapped, hand in pair if i % 2 == 0 else pair[::-1]:
                a_won = hand.returns[two if swapped else one] * bb
                record = {"deal": i, "seed": seed, "swapped": swapped, "moves": list(hand.moves)}
                record["chips"] = {one: a_won, two: -a_won}
                if hand.reason not in ("win", "draw"):  # an agent's illegal move ended it
                    record["reason"] = hand.reason
                records.append(record)
        return records

    def match_result(self) -> MatchResult:
        """The whole match as one result, with its hands and chips in ``details``.

        A wins (or B does) only when the 95% interval of A's mbb/hand excludes 0; otherwise it is a
        draw. Why: even in duplicate most of a match's chips are the cards' luck, so the sign alone
        would name a winner between two equal players half the time, and the ratings would read those
        coin tosses as wins. A draw says what such a match showed: it could not tell them apart."""
        one, two = get_game(self.game).seats
        low, high = self.interval
        winner = one if low > 0 else two if high < 0 else None
        returns = (
            {one: 0.0, two: 0.0} if winner is None else {winner: 1.0, (two if winner == one else one): -1.0}
        )
        records = self.hand_records()
        a_chips = sum(r["chips"][one] for r in records)
        summary = {**self.to_json(), "deals": len(self.seeds), "chips": {one: a_chips, two: -a_chips}}
        return MatchResult(
            game=self.game,
            seed=self.seed,
            moves=[],
            returns=returns,
            winner=winner,
            reason="win" if winner else "draw",
            details={"poker": summary, "hand_results": records},
        )


def play_poker_match(
    game: str | GameSpec,
    player_a: Agent | Mapping[str, Agent],
    player_b: Agent | Mapping[str, Agent],
    *,
    deals: int,
    seed: int,
    duplicate: bool = True,
    on_hands: Callable[[int], None] | None = None,
) -> PokerMatch:
    """``deals`` deals between A and B; with ``duplicate`` each is played twice, seats swapped.

    A player is an agent, or its agents by seat (each pass seats it in its own policy for the seat).
    ``on_hands`` hears how many hands are done after every ``DEALS_PER_LOOP`` deals."""
    spec = game if isinstance(game, GameSpec) else get_game(game)
    if deals < 1:
        raise MarlError(f"a poker match needs at least one deal, got {deals}")
    seeds = deal_seeds(spec, seed, deals)
    one, two = spec.seats
    seating = {one: _at(player_a, one), two: _at(player_b, two)}
    firsts = _play_pass(spec, seating, seeds, on_hands, 0)
    bb = spec.big_blinds_per_return
    if not duplicate:
        units = [r.returns[one] * bb for r in firsts]
        return PokerMatch(spec.name, seeds, False, units, firsts, seed)
    swapped = {one: _at(player_b, one), two: _at(player_a, two)}
    seconds = _play_pass(spec, swapped, seeds, on_hands, deals)
    units = [(f.returns[one] + s.returns[two]) * bb / 2 for f, s in zip(firsts, seconds, strict=True)]
    return PokerMatch(spec.name, seeds, True, units, [*firsts, *seconds], seed)


def _play_pass(
    spec: GameSpec,
    seating: Mapping[str, Agent],
    seeds: list[int],
    on_hands: Callable[[int], None] | None,
    before: int,
) -> list[MatchResult]:
    """One seating's hands, ``DEALS_PER_LOOP`` deals per batched loop, reporting hands done between."""
    results: list[MatchResult] = []
    for start in range(0, len(seeds), DEALS_PER_LOOP):
        results += play_matches(spec, seating, seeds[start : start + DEALS_PER_LOOP])
        if on_hands is not None:
            on_hands(before + len(results))
    return results


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
