"""Matches: a game between seated players, played by a worker or by a person in the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from marl.match import MatchResult


class Match(models.Model):
    PENDING, RUNNING, FINISHED, FAILED, ABORTED = "pending", "running", "finished", "failed", "aborted"
    STATUSES = [
        (PENDING, "Pending"),
        (RUNNING, "Running"),
        (FINISHED, "Finished"),
        (FAILED, "Failed"),
        (ABORTED, "Aborted"),
    ]

    game = models.ForeignKey("arena.Game", on_delete=models.PROTECT, related_name="matches")
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_matches"
    )
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING, db_index=True)
    moves = models.JSONField(default=list, blank=True)
    # The first `opening_plies` of `moves` are the opening (random or given plies the game starts
    # from), not moves of the players: stored with the moves so a replay rebuilds the same game.
    opening_plies = models.PositiveIntegerField(default=0)
    # Above 0 the checkpoints sample moves from a softmax of their values at this temperature.
    temperature = models.FloatField(default=0.0)
    # A poker match between agents is `hands` hands (`marl.poker_match`), each deal twice with seats
    # swapped when `duplicate`; its hands are stored in `result["hand_results"]`. 1: the match is one
    # game (every other game, and a person's poker hand).
    hands = models.PositiveIntegerField(default=1)
    duplicate = models.BooleanField(default=True)
    # The number of the last event published for this match; the live stream's `seq`.
    seq = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    # Per move, what the agent that made it thought of each legal move (None for a person's move or an
    # agent that cannot say): the play page's heat map and win-probability line after a reload.
    analysis = models.JSONField(default=list, blank=True)
    winner = models.CharField(max_length=32, blank=True, default="")
    reason = models.CharField(max_length=32, blank=True, default="")
    rated = models.BooleanField(default=True)
    move_delay = models.FloatField(default=0.0, help_text="seconds between agent moves, so people can watch")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # A failed match's report (`arena.services.failures`): what failed, where in the code, the move
    # it stopped at and the last lines of its log.
    failure = models.JSONField(default=dict, blank=True)
    # A human game taken over from another game's replay: that game and the ply it starts from.
    source_match = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="take_overs"
    )
    source_ply = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "matches"

    def __str__(self) -> str:
        return f"match {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("match_detail", args=[self.pk])

    @property
    def opening(self) -> list[int]:
        """The leading moves that were the opening."""
        return list(self.moves[: self.opening_plies])

    @property
    def is_live(self) -> bool:
        return self.status in (self.PENDING, self.RUNNING)

    @property
    def seed_hidden(self) -> bool:
        """Whether the seed is secret for now: in a game of hidden cards the seed is the deal, so it is
        shown only once the match is over."""
        from marl.games import GAMES

        spec = GAMES.get(self.game.name)
        return bool(spec and spec.hidden_information and self.is_live)

    @property
    def winner_label(self) -> str:
        """Who won, by name ("demo-dqn:player_1@v3"), not by seat; empty for a draw or an open game.
        Reads `seats.all()`, so a list that prefetches the seats' players pays no query per row."""
        seat = next((s for s in self.seats.all() if s.seat == self.winner), None) if self.winner else None
        return seat.player.label if seat else self.winner

    @property
    def hand_results(self) -> list[dict]:
        """A finished poker match's hands (seed, moves, who sat where, chips); empty for one game."""
        return list((self.result or {}).get("hand_results") or [])

    def hand(self, index: int | None = None) -> tuple[int, list[int], bool]:
        """`(seed, moves, swapped)` of hand `index` of a poker match (None: its last), or of the one
        game of any other match; raises IndexError for a hand it does not have."""
        hands = self.hand_results
        if not hands:
            if index not in (None, 0):
                raise IndexError(f"match {self.pk} is one game: it has no hand {index}")
            return self.seed, list(self.moves), False
        index = len(hands) - 1 if index is None else index
        if not 0 <= index < len(hands):
            raise IndexError(f"match {self.pk} has hands 0 to {len(hands) - 1}, not {index}")
        record = hands[index]
        return int(record["seed"]), list(record["moves"]), bool(record["swapped"])

    def seats_by_name(self) -> dict[str, MatchSeat]:
        return {seat.seat: seat for seat in self.seats.all()}

    # What `apply_result` changes on the row, for `save(update_fields=...)` and bulk writers.
    RESULT_FIELDS = (
        "status",
        "result",
        "moves",
        "opening_plies",
        "winner",
        "reason",
        "finished_at",
        "seq",
        "updated_at",
    )

    def apply_result(self, result: MatchResult, seats: list[MatchSeat]) -> None:
        """Mark the match finished with `result` and score each seat by its return; saves nothing, so a
        caller writes one match or a whole batch the way it needs."""
        self.status, self.result, self.moves = self.FINISHED, result.to_json(), list(result.moves)
        self.opening_plies = result.opening_plies
        self.winner, self.reason = result.winner or "", result.reason
        self.finished_at = self.updated_at = timezone.now()
        self.seq += 1
        for seat in seats:
            seat.score = float(result.returns.get(seat.seat, 0.0))


class MatchSeat(models.Model):
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="seats")
    seat = models.CharField(max_length=32)
    player = models.ForeignKey("arena.Player", on_delete=models.PROTECT, related_name="seats")
    score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["match", "seat"]
        constraints = [models.UniqueConstraint(fields=["match", "seat"], name="match_seat_unique")]

    def __str__(self) -> str:
        return f"{self.seat}: {self.player}"
