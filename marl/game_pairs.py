"""Game pairs: each opening played twice with seats swapped, so neither the opening nor the first
move favours a player (fishtest's and fastchess's scheme)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marl.errors import MarlError
from marl.games import GameSpec, get_game
from marl.match import MatchResult, opening_for_seed, play_matches

if TYPE_CHECKING:
    from marl.agents import Agent


@dataclass
class GamePair:
    """One opening played twice with seats swapped: ``first`` has player A in the first seat."""

    opening: list[int]
    first: MatchResult
    second: MatchResult

    def score(self) -> float:
        """Player A's points over both games: 0, 0.5, 1, 1.5 or 2 (the pentanomial outcome)."""
        seats = get_game(self.first.game).seats
        return self.first.score(seats[0]) + self.second.score(seats[1])

    def games(self, player_a: str, player_b: str) -> list[tuple[str, str, float]]:
        """Both games as ``(first, second, score_of_first)`` records for ``marl.elo_fit``."""
        seat = get_game(self.first.game).seats[0]
        return [(player_a, player_b, self.first.score(seat)), (player_b, player_a, self.second.score(seat))]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {"opening": list(self.opening), "first": self.first.to_json(), "second": self.second.to_json()}


def play_pairs(
    game: str | GameSpec,
    player_a: Agent,
    player_b: Agent,
    seeds: Sequence[int],
    *,
    plies: int | None = None,
    openings: Sequence[Sequence[int]] | None = None,
) -> list[GamePair]:
    """One game pair per seed: A takes the first seat, then B does, from the same opening and seed.

    Openings come from ``opening_for_seed(game, seed, plies)``, or from ``openings`` used in turn
    (pair ``i`` gets ``openings[i % len(openings)]``, so a book of openings is replayed in order).
    Both games of a pair are batched with the other pairs' (``play_matches``).
    """
    spec = game if isinstance(game, GameSpec) else get_game(game)
    if openings is not None and not openings:
        raise MarlError("openings is empty: give at least one, or None to draw them from the seeds")
    chosen = [
        list(openings[i % len(openings)]) if openings is not None else opening_for_seed(spec, seed, plies)
        for i, seed in enumerate(seeds)
    ]
    one, two = spec.seats[0], spec.seats[1]
    firsts = play_matches(spec, {one: player_a, two: player_b}, seeds, openings=chosen)
    seconds = play_matches(spec, {one: player_b, two: player_a}, seeds, openings=chosen)
    return [GamePair(o, f, s) for o, f, s in zip(chosen, firsts, seconds, strict=True)]
