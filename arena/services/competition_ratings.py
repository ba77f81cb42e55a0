"""Rating many games at once (a batch of tournament matches, a league evaluation) in one transaction.

`ratings.ratings_record_match` rates one stored match with ~6 queries; a batch of hundreds would spend
longer in the DB than playing. Here the ratings are read once, updated in memory game by game in the
order given (the same OpenSkill update, anchors fixed), and written back with bulk queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from arena.models import Match, Player, Rating, RatingEvent
from arena.services.ratings import rating_get


@dataclass
class Game:
    """One game to rate: `score` is what `first` scored (1 win, 0.5 draw, 0 loss)."""

    first: Player
    second: Player
    score: float
    match: Match | None = None


def score_of(first: float | None, second: float | None) -> float:
    """Seat returns to the first seat's score."""
    first, second = first or 0.0, second or 0.0
    return 1.0 if first > second else 0.0 if first < second else 0.5


def ratings_apply(*, pool: str, games: Sequence[Game]) -> dict[int, Rating]:
    """Rate `games` in order; one history event per match, or one per player when games carry none.

    Returns the new ratings by player id. Games of a player against itself are skipped.
    """
    from marl.ratings import Rating as Skill
    from marl.ratings import rate_match

    games = [g for g in games if g.first.pk != g.second.pk]
    if not games:
        return {}
    with transaction.atomic():
        players = {p.pk: p for g in games for p in (g.first, g.second)}
        rows = {pk: rating_get(player=player, pool=pool) for pk, player in players.items()}
        rows = {
            row.player_id: row
            for row in Rating.objects.select_for_update().filter(pk__in=[r.pk for r in rows.values()])
        }
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
        for pk, row in rows.items():
            row.mu, row.sigma, row.games = skills[pk].mu, skills[pk].sigma, row.games + counts[pk]
        Rating.objects.bulk_update(list(rows.values()), ["mu", "sigma", "games"])
        if not events:
            events = [RatingEvent(rating=row, mu=row.mu, sigma=row.sigma) for row in rows.values()]
        RatingEvent.objects.bulk_create(events)
    return rows
