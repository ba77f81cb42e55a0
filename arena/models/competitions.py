"""Tournaments (rounds of matches between fixed players) and leagues (agents that train on a schedule
against snapshots of each other, PFSP-sampled, and are evaluated every tick)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Tournament(models.Model):
    """Players meet in rounds; a round's matches are played by workers, then the next round is paired."""

    ROUND_ROBIN, SWISS, KNOCKOUT, GAUNTLET = "round_robin", "swiss", "knockout", "gauntlet"
    FORMATS = [(ROUND_ROBIN, "Round robin"), (SWISS, "Swiss"), (KNOCKOUT, "Knockout"), (GAUNTLET, "Gauntlet")]
    PENDING, RUNNING, FINISHED, CANCELLED = "pending", "running", "finished", "cancelled"
    STATUSES = [(PENDING, "Pending"), (RUNNING, "Running"), (FINISHED, "Finished"), (CANCELLED, "Cancelled")]

    game = models.ForeignKey("arena.Game", on_delete=models.PROTECT, related_name="tournaments")
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tournaments"
    )
    format = models.CharField(max_length=16, choices=FORMATS)
    participants = models.ManyToManyField(
        "arena.Player", through="TournamentEntry", related_name="tournaments"
    )
    games_per_pair = models.PositiveIntegerField(default=2, help_text="games per pairing, seats alternating")
    rounds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Swiss rounds; the others derive it"
    )
    # Matches per worker task: 1 plays each match as its own live task; more plays them batched
    # through `marl.match.play_matches` (one forward pass per step for the whole batch).
    batch_size = models.PositiveIntegerField(default=1)
    max_attempts = models.PositiveIntegerField(
        default=3, help_text="tries per match before it counts as failed"
    )
    # Each opening is played twice, seats swapped. Random openings of `opening_plies` plies (None:
    # the game's default) unless `openings` lists them (action lists, used in turn).
    opening_plies = models.PositiveIntegerField(null=True, blank=True)
    openings = models.JSONField(default=list, blank=True)
    temperature = models.FloatField(default=0.0, help_text="softmax sampling temperature; 0 plays greedily")
    # Hands each match of a poker tournament plays (duplicate pairs); 1 for the other games.
    hands = models.PositiveIntegerField(default=1)
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING, db_index=True)
    table = models.JSONField(default=dict, blank=True, help_text="final standings and Bradley-Terry scores")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or f"tournament {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("tournament_detail", args=[self.pk])


class TournamentEntry(models.Model):
    """A participant and its seed (1 is the top seed; a gauntlet's challenger)."""

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="entries")
    player = models.ForeignKey("arena.Player", on_delete=models.PROTECT, related_name="tournament_entries")
    seed = models.PositiveIntegerField()

    class Meta:
        ordering = ["tournament", "seed"]
        constraints = [
            models.UniqueConstraint(fields=["tournament", "player"], name="tournament_entry_unique_player"),
            models.UniqueConstraint(fields=["tournament", "seed"], name="tournament_entry_unique_seed"),
        ]


class TournamentRound(models.Model):
    RUNNING, COMPLETE = "running", "complete"
    STATUSES = [(RUNNING, "Running"), (COMPLETE, "Complete")]

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="round_set")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=STATUSES, default=RUNNING)
    # Pairings as player ids, byes, and the knockout bracket slots the next round is built from.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tournament", "number"]
        # The last guard against a double advance: a second round N cannot exist.
        constraints = [
            models.UniqueConstraint(fields=["tournament", "number"], name="tournament_round_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tournament} round {self.number}"


class TournamentMatch(models.Model):
    """A match played for a round (a through table, so `Match` stays free of tournament fields)."""

    round = models.ForeignKey(TournamentRound, on_delete=models.CASCADE, related_name="tournament_matches")
    match = models.OneToOneField("arena.Match", on_delete=models.CASCADE, related_name="tournament_match")

    class Meta:
        ordering = ["round", "match"]


class League(models.Model):
    """Agents that train every tick against PFSP-sampled snapshots of the league, then get evaluated."""

    ACTIVE, PAUSED = "active", "paused"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused")]
    PFSP_MODES = [("hard", "hard: (1-x)^p"), ("even", "even: x(1-x)"), ("linear", "linear: 1-x")]

    game = models.ForeignKey("arena.Game", on_delete=models.PROTECT, related_name="leagues")
    name = models.CharField(max_length=100, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leagues")
    members = models.ManyToManyField("arena.Agent", through="LeagueMember", related_name="leagues")
    status = models.CharField(max_length=16, choices=STATUSES, default=ACTIVE)
    interval_seconds = models.PositiveIntegerField(default=600, help_text="seconds between scheduled ticks")
    env_steps_per_tick = models.PositiveIntegerField(
        default=2000, help_text="per member, split over its seats"
    )
    pool_size = models.PositiveIntegerField(default=5, help_text="newest snapshots kept per member and seat")
    # Bots are evaluation anchors only unless this is on: self-play alone has to make members strong.
    pool_bots = models.BooleanField(default=False, help_text="reference bots join the training pool")
    self_play = models.BooleanField(
        default=True,
        help_text="members that learn every seat train all seats at once by pure self-play (az always does)",
    )
    eval_search = models.PositiveIntegerField(
        default=0, help_text="above 0, each new snapshot is also evaluated with mcts:N on top"
    )
    pfsp_mode = models.CharField(max_length=8, choices=PFSP_MODES, default="hard")
    pfsp_p = models.FloatField(default=2.0)
    eval_games = models.PositiveIntegerField(default=20, help_text="games per opponent when evaluating")
    train_overrides = models.JSONField(default=dict, blank=True, help_text="extra TrainConfig keys")
    # Gating: a member's new snapshot replaces its champion only when a pentanomial SPRT accepts it.
    gating = models.BooleanField(
        default=False, help_text="new snapshots must pass an SPRT to become champion"
    )
    gate_elo0 = models.FloatField(default=0.0)
    gate_elo1 = models.FloatField(default=10.0)
    gate_alpha = models.FloatField(default=0.05)
    gate_beta = models.FloatField(default=0.05)
    gate_max_pairs = models.PositiveIntegerField(default=400, help_text="game pairs before a test gives up")
    # The tick lease: one tick at a time, claimed by a conditional UPDATE on these columns.
    tick_count = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=128, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("league_detail", args=[self.pk])


class LeagueMember(models.Model):
    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey("arena.Agent", on_delete=models.CASCADE, related_name="league_memberships")
    # The member's champion under gating: a checkpoint id per seat (empty until its first snapshot).
    champions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["league", "id"]
        constraints = [models.UniqueConstraint(fields=["league", "agent"], name="league_member_unique")]

    def __str__(self) -> str:
        return f"{self.agent} in {self.league}"


class LeagueSnapshot(models.Model):
    """A member's checkpoint taken at a tick; `active` ones form the pool opponents are drawn from."""

    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="snapshots")
    member = models.ForeignKey(LeagueMember, on_delete=models.CASCADE, related_name="snapshots")
    checkpoint = models.ForeignKey(
        "arena.Checkpoint", on_delete=models.CASCADE, related_name="league_snapshots"
    )
    tick = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["league", "-tick", "id"]
        constraints = [
            models.UniqueConstraint(fields=["league", "checkpoint"], name="league_snapshot_unique")
        ]


class LeagueTick(models.Model):
    RUNNING, DONE, FAILED = "running", "done", "failed"
    STATUSES = [(RUNNING, "Running"), (DONE, "Done"), (FAILED, "Failed")]

    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="ticks")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=STATUSES, default=RUNNING)
    worker = models.CharField(max_length=128, blank=True, default="")
    # Per member and seat: the new snapshot, its W/D/L per opponent and its rating after the tick.
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["league", "number"]
        constraints = [models.UniqueConstraint(fields=["league", "number"], name="league_tick_unique")]


class LeagueResult(models.Model):
    """Evaluation games of one snapshot against one opponent at one tick, summed (not a Match each)."""

    tick = models.ForeignKey(LeagueTick, on_delete=models.CASCADE, related_name="evaluations")
    player = models.ForeignKey("arena.Player", on_delete=models.CASCADE, related_name="+")
    opponent = models.ForeignKey("arena.Player", on_delete=models.CASCADE, related_name="+")
    seat = models.CharField(max_length=32)
    wins = models.PositiveIntegerField(default=0)
    draws = models.PositiveIntegerField(default=0)
    losses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["tick", "id"]

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.5


class LeagueGate(models.Model):
    """One SPRT of a member's new snapshot (a checkpoint per seat) against its champion, over game pairs.

    `state` is `marl.sprt.SprtState.to_json()` after the last batch, so a restarted worker resumes it.
    """

    RUNNING, ACCEPTED, REJECTED = "running", "accepted", "rejected"
    STATUSES = [(RUNNING, "Running"), (ACCEPTED, "Accepted"), (REJECTED, "Rejected")]

    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="gates")
    member = models.ForeignKey(LeagueMember, on_delete=models.CASCADE, related_name="gates")
    tick = models.PositiveIntegerField()
    challenger = models.JSONField(help_text="checkpoint id per seat")
    champion = models.JSONField(help_text="checkpoint id per seat")
    state = models.JSONField()
    pairs = models.PositiveIntegerField(default=0)
    llr = models.FloatField(default=0.0)
    status = models.CharField(max_length=16, choices=STATUSES, default=RUNNING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["league", "-id"]

    @property
    def games(self) -> int:
        return 2 * self.pairs
