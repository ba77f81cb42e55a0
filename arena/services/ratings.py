"""Ratings: one pool per game; every finished rated match moves its players' ratings once.

Reference bots are anchors: their ratings never move, so an agent's number means the same over time.
"""

from __future__ import annotations

from django.db import transaction

from arena.models import Match, Player, Rating, RatingEvent


def rating_get(*, player: Player, pool: str) -> Rating:
    from marl.ratings import default_rating

    initial = default_rating()
    rating, _ = Rating.objects.get_or_create(
        player=player, pool=pool, defaults={"mu": initial.mu, "sigma": initial.sigma}
    )
    return rating


def ratings_record_match(*, match_id: int) -> list[Rating]:
    """Update the two seats' ratings from a finished two-player match. Idempotent per match."""
    from marl.ratings import Rating as SkillRating
    from marl.ratings import rate_match

    with transaction.atomic():
        match = Match.objects.select_for_update().select_related("game").get(pk=match_id)
        seats = list(match.seats.select_related("player").order_by("seat"))
        if match.status != Match.FINISHED or len(seats) != 2:
            return []
        pool = match.game.name
        if RatingEvent.objects.filter(match=match).exists():
            return []
        first, second = seats
        a, b = rating_get(player=first.player, pool=pool), rating_get(player=second.player, pool=pool)
        if first.player_id == second.player_id:
            return []  # a player against itself says nothing about its strength
        score_a = _score(first.score, second.score)
        new_a, new_b = rate_match(
            SkillRating(a.mu, a.sigma),
            SkillRating(b.mu, b.sigma),
            score_a,
            fixed_a=first.player.is_anchor,
            fixed_b=second.player.is_anchor,
        )
        for row, new in ((a, new_a), (b, new_b)):
            row.mu, row.sigma, row.games = new.mu, new.sigma, row.games + 1
            row.save(update_fields=["mu", "sigma", "games", "updated_at"])
            RatingEvent.objects.create(rating=row, match=match, mu=row.mu, sigma=row.sigma)
    return [a, b]


def _score(a: float | None, b: float | None) -> float:
    a, b = a or 0.0, b or 0.0
    if a > b:
        return 1.0
    if a < b:
        return 0.0
    return 0.5
