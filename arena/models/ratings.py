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
