"""Ratings per player and rating pool (one pool per game), with their history."""

from __future__ import annotations

from django.db import models


class Rating(models.Model):
    player = models.ForeignKey("arena.Player", on_delete=models.CASCADE, related_name="ratings")
    pool = models.CharField(max_length=64, help_text="the rating pool; one per game by default")
    mu = models.FloatField()
    sigma = models.FloatField()
    games = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pool", "-mu"]
        constraints = [models.UniqueConstraint(fields=["player", "pool"], name="rating_unique_player_pool")]

    def __str__(self) -> str:
        return f"{self.player} {self.mu:.1f}±{self.sigma:.1f}"

    @property
    def conservative(self) -> float:
        return self.mu - 3 * self.sigma


class RatingEvent(models.Model):
    """A rating after one match: the rating-history chart."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="events")
    match = models.ForeignKey("arena.Match", null=True, blank=True, on_delete=models.SET_NULL)
    mu = models.FloatField()
    sigma = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rating", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "match"], name="rating_event_once_per_match")
        ]


class RatingFit(models.Model):
    """The pool's maximum-likelihood Elo fit over all its rated games (`marl.elo_fit`), kept until a
    new rated game makes it stale: pages read it instead of refitting."""

    pool = models.CharField(max_length=64, unique=True)
    # Rated games the fit saw; a different count on read means new games arrived.
    games = models.PositiveIntegerField(default=0)
    # Per player id: [elo, low, high, games]; the seat advantage and draw parameter: [estimate, low, high].
    ratings = models.JSONField(default=dict, blank=True)
    seat_advantage = models.JSONField(default=list, blank=True)
    draw_elo = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    # When a worker was last asked to refit (a large pool is refitted there, not on a page read).
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"fit {self.pool} ({self.games} games)"

    def interval(self, player_id: int) -> tuple[float, float, float] | None:
        """A player's `(elo, low, high)`, or None when the fit does not include it."""
        value = self.ratings.get(str(player_id))
        return (value[0], value[1], value[2]) if value else None


class RatingFitPoint(models.Model):
    """A player's fitted Elo when a fit was stored: the rating history, one point per refit."""

    fit = models.ForeignKey(RatingFit, on_delete=models.CASCADE, related_name="points")
    player = models.ForeignKey("arena.Player", on_delete=models.CASCADE, related_name="fit_points")
    games = models.PositiveIntegerField()
    elo = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["player", "id"]


class AnchorPin(models.Model):
    """A reference bot's measured Elo (random = 0) from anchor-vs-anchor game pairs (`manage.py anchors
    measure`); without a row the value shipped in code applies."""

    game = models.CharField(max_length=64)
    bot = models.CharField(max_length=80)
    elo = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    games = models.PositiveIntegerField()
    measured_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game", "bot"], name="anchor_pin_unique_game_bot")]

    def __str__(self) -> str:
        return f"{self.game} {self.bot} = {self.elo:.0f}"
