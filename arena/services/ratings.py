"""Ratings: one pool per game; every rated game moves its players' ratings once.

One entry point, `ratings_record`, rates one game or many (a live match, a tournament batch, a
league evaluation) in one transaction: the ratings are read once, updated in memory game by game in
the order given (OpenSkill, anchors fixed), and written back with bulk queries. Reference bots are
anchors: their ratings never move, so an agent's number means the same over time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from arena.models import Match, MatchSeat, Player, Rating, RatingEvent
from marl.ratings import Rating as Skill
from marl.ratings import default_rating, rate_match


@dataclass
class RatedGame:
    """One game to rate: `score` is what `first` scored (1 win, 0.5 draw, 0 loss)."""

    first: Player
    second: Player
    score: float
    match: Match | None = None


def score_of(first: float | None, second: float | None) -> float:
    """The first seat's score from the two seats' returns: the one score rule."""
    first, second = first or 0.0, second or 0.0
    return 1.0 if first > second else 0.0 if first < second else 0.5


def rated_game(match: Match, seats: Mapping[str, MatchSeat]) -> RatedGame | None:
    """What a finished match adds to its pool (None when it is unrated): its first two seats in the
    game's order, scored by the seats' stored scores."""
    if not match.rated or match.status != Match.FINISHED:
        return None
    first, second = (seats[name] for name in match.game.seats[:2])
    return RatedGame(first.player, second.player, score_of(first.score, second.score), match)


def rating_get(*, player: Player, pool: str) -> Rating:
    initial = default_rating()
    rating, _ = Rating.objects.get_or_create(
        player=player, pool=pool, defaults={"mu": initial.mu, "sigma": initial.sigma}
    )
    return rating


def ratings_record_match(*, match_id: int) -> list[Rating]:
    """Rate one stored match (if finished and rated). Idempotent: a rated match is never rated twice."""
    match = Match.objects.select_related("game").get(pk=match_id)
    game = rated_game(match, {s.seat: s for s in match.seats.select_related("player")})
    return list(ratings_record(pool=match.game.name, games=[game]).values()) if game else []


def ratings_record(*, pool: str, games: Sequence[RatedGame]) -> dict[int, Rating]:
    """Rate `games` in order; one history event per match, or one per player when games carry none.

    Returns the new ratings by player id. Games of a player against itself, and matches rated
    before, are skipped.
    """
    games = [g for g in games if g.first.pk != g.second.pk]  # self-play says nothing about strength
    if not games:
        return {}
    with transaction.atomic():
        rows = _locked_ratings(pool, {p.pk: p for g in games for p in (g.first, g.second)})
        games = _not_rated_before(games)  # read under the rating locks: a second recorder waits, then skips
        if not games:
            return {}
        events = _rate_in_memory(rows, games)
        Rating.objects.bulk_update(list(rows.values()), ["mu", "sigma", "games", "updated_at"])
        if not events:
            events = [RatingEvent(rating=row, mu=row.mu, sigma=row.sigma) for row in rows.values()]
        RatingEvent.objects.bulk_create(events)
    return rows


def _locked_ratings(pool: str, players: dict[int, Player]) -> dict[int, Rating]:
    """Each player's rating in `pool` (created at the default if new), row-locked, by player id."""
    ids = [rating_get(player=player, pool=pool).pk for player in players.values()]
    return {row.player_id: row for row in Rating.objects.select_for_update().filter(pk__in=ids)}


def _not_rated_before(games: list[RatedGame]) -> list[RatedGame]:
    match_ids = [g.match.pk for g in games if g.match is not None]
    rated = set(RatingEvent.objects.filter(match_id__in=match_ids).values_list("match_id", flat=True))
    return [g for g in games if g.match is None or g.match.pk not in rated]


def _rate_in_memory(rows: dict[int, Rating], games: list[RatedGame]) -> list[RatingEvent]:
    """Apply the games to `rows` one after another; the history events of games that carry a match."""
    skills = {pk: Skill(row.mu, row.sigma) for pk, row in rows.items()}
    counts = dict.fromkeys(rows, 0)
    events: list[RatingEvent] = []
    for g in games:
        a, b = g.first.pk, g.second.pk
        skills[a], skills[b] = rate_match(
            skills[a], skills[b], g.score, fixed_a=g.first.is_anchor, fixed_b=g.second.is_anchor
        )
        counts[a] += 1
        counts[b] += 1
        if g.match is not None:
            events += [
                RatingEvent(rating=rows[pk], match=g.match, mu=skills[pk].mu, sigma=skills[pk].sigma)
                for pk in (a, b)
            ]
    now = timezone.now()
    for pk, row in rows.items():
        row.mu, row.sigma, row.games = skills[pk].mu, skills[pk].sigma, row.games + counts[pk]
        row.updated_at = now  # bulk_update does not touch auto_now fields
    return events
