"""Games, agents, their checkpoints per agent_id, and players (what sits in a seat)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Game(models.Model):
    """A game from `marl.games`'s registry, mirrored in the DB so rows can point at it."""

    name = models.SlugField(unique=True)
    env_id = models.CharField(max_length=64)
    title = models.CharField(max_length=100)
    render_hint = models.CharField(max_length=32)
    seats = models.JSONField(default=list)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("game_detail", args=[self.name])


class AgentQuerySet(models.QuerySet):
    def active(self) -> AgentQuerySet:
        """Agents that are not archived: the ones lists, forms and new games offer."""
        return self.filter(archived_at__isnull=True)


class Agent(models.Model):
    """A learner owned by a user: an algorithm and network for one game, learning one seat or both.

    An agent whose checkpoints have played is archived when its owner deletes it (`archived_at`): it
    leaves every list and takes no new game or run, and the games it played keep their history.
    """

    ALGORITHMS = [
        ("dqn", "DQN"),
        ("ppo", "PPO"),
        ("az", "AZ (expert iteration, self-play)"),
        ("mccfr", "MCCFR (regret matching by self-play, Leduc)"),
    ]
    SELF_PLAY_ONLY = ("az", "mccfr")  # one policy for every seat, learned against itself

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agents")
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="agents")
    name = models.CharField(max_length=80)
    algorithm = models.CharField(max_length=16, choices=ALGORITHMS, default="dqn")
    network = models.JSONField(default=dict)
    # The PettingZoo agent_id this agent learns, or "" for every seat.
    seat = models.CharField(max_length=32, blank=True, default="")
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="agent_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("agent_detail", args=[self.pk])

    @property
    def learning_seats(self) -> list[str]:
        return [self.seat] if self.seat else list(self.game.seats)

    def latest_checkpoints(self) -> list[Checkpoint]:
        """The newest checkpoint of each seat (agent_id)."""
        return list(newest_per_seat(self.checkpoints.all()).values())


def newest_per_seat(checkpoints: models.QuerySet) -> dict[str, Checkpoint]:
    """The highest version of each seat in `checkpoints` (one agent's, or one run's)."""
    latest: dict[str, Checkpoint] = {}
    for checkpoint in checkpoints.order_by("seat", "-version"):
        latest.setdefault(checkpoint.seat, checkpoint)
    return latest


class Checkpoint(models.Model):
    """A versioned snapshot of one agent_id's policy; the files live under MEDIA_ROOT."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="checkpoints")
    # The PettingZoo agent_id this snapshot plays (named `seat` because `agent_id` is the FK column).
    seat = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    env_steps = models.PositiveBigIntegerField(default=0)
    path = models.CharField(max_length=500, help_text="weights file, relative to MEDIA_ROOT")
    sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    training_run = models.ForeignKey(
        "arena.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="checkpoints"
    )
    # Calibration: a rating measured for every checkpoint against the anchors and its nearest rivals.
    PENDING, RATED, BUDGET_SPENT = "pending", "rated", "budget_spent"
    CALIBRATION_STATUSES = [
        (PENDING, "Rating pending"),
        (RATED, "Rated"),
        (BUDGET_SPENT, "Game budget spent"),
    ]
    calibration_status = models.CharField(max_length=16, choices=CALIBRATION_STATUSES, default=PENDING)
    calibration_elo = models.FloatField(null=True, blank=True, help_text="Elo above the random bot")
    calibration_low = models.FloatField(null=True, blank=True)
    calibration_high = models.FloatField(null=True, blank=True)
    calibration_games = models.PositiveIntegerField(default=0)
    # The games so far as [first, second, score] with the opponents' fixed Elo: a restart resumes here.
    calibration_record = models.JSONField(default=dict, blank=True)
    # Strength against perfect play (tic-tac-toe) or the alpha-beta ladder (connect four).
    strength = models.JSONField(default=dict, blank=True)
    # Exact exploitability of the entrant's policy (games whose registry entry declares it: Leduc),
    # `marl.exploitability`'s report: {"kind": "exploitability", "value": big blinds per hand, ...}.
    exploitability = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "seat", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "seat", "version"], name="checkpoint_unique_version"),
            # One network may serve every seat: its file is then recorded once per seat.
            models.UniqueConstraint(fields=["agent", "seat", "path"], name="checkpoint_unique_seat_path"),
        ]

    def __str__(self) -> str:
        return f"{self.agent.name}:{self.seat}@v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("checkpoint_detail", args=[self.pk])

    @property
    def label(self) -> str:
        return str(self)

    def absolute_path(self):
        return settings.MEDIA_ROOT / self.path

    @property
    def calibration_half_width(self) -> float | None:
        """Half the width of the rating interval, in Elo (None before the first fit)."""
        if self.calibration_low is None or self.calibration_high is None:
            return None
        return (self.calibration_high - self.calibration_low) / 2


class Player(models.Model):
    """Whatever can sit in a seat and hold a rating: a checkpoint, a reference bot or a person."""

    CHECKPOINT, BOT, HUMAN = "checkpoint", "bot", "human"
    KINDS = [(CHECKPOINT, "Checkpoint"), (BOT, "Reference bot"), (HUMAN, "Human")]

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="players")
    kind = models.CharField(max_length=16, choices=KINDS)
    checkpoint = models.ForeignKey(Checkpoint, null=True, blank=True, on_delete=models.CASCADE)
    bot = models.CharField(max_length=32, blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    # A checkpoint with tree search on top (`... + mcts:N`): N simulations a move, 0 for none. It is a
    # player of its own, with its own rating: search changes how strong the checkpoint plays.
    search = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["game", "checkpoint", "search"],
                name="player_unique_checkpoint_search",
                condition=models.Q(kind="checkpoint"),
            ),
            models.UniqueConstraint(
                fields=["game", "bot"], name="player_unique_bot", condition=models.Q(kind="bot")
            ),
            models.UniqueConstraint(
                fields=["game", "user"], name="player_unique_user", condition=models.Q(kind="human")
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.kind == self.CHECKPOINT:
            return f"{self.checkpoint} + mcts:{self.search}" if self.search else str(self.checkpoint)
        if self.kind == self.BOT:
            return f"bot:{self.bot}"
        return f"human:{self.user}"

    @property
    def is_anchor(self) -> bool:
        """Reference bots are fixed points of the rating scale."""
        return self.kind == self.BOT
