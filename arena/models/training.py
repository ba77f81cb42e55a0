"""Training runs (queued work with a lease) and the stats they stream."""

from __future__ import annotations

from django.db import models
from django.urls import reverse


class TrainingRun(models.Model):
    """One training job for an agent. A worker holds it through a lease row with a heartbeat."""

    QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, TIMED_OUT = (
        "queued",
        "running",
        "completed",
        "failed",
        "cancelled",
        "timed_out",
    )
    STATUSES = [
        (QUEUED, "Queued"),
        (RUNNING, "Running"),
        (COMPLETED, "Completed"),
        (FAILED, "Failed"),
        (CANCELLED, "Cancelled"),
        (TIMED_OUT, "Timed out"),
    ]
    ACTIVE = (QUEUED, RUNNING)
    FINISHED = (COMPLETED, FAILED, CANCELLED, TIMED_OUT)

    agent = models.ForeignKey("arena.Agent", on_delete=models.CASCADE, related_name="training_runs")
    config = models.JSONField()
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    env_steps_done = models.PositiveBigIntegerField(default=0)
    env_steps_total = models.PositiveBigIntegerField(default=0)
    latest_stats = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    lease_owner = models.CharField(max_length=128, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # A failed or timed-out run's report (`arena.services.failures`): what failed, where in the code,
    # where the run stopped (env steps, epoch, last checkpoint) and the last lines of its log.
    failure = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.agent}"

    def get_absolute_url(self) -> str:
        return reverse("run_detail", args=[self.pk])

    @property
    def progress(self) -> float:
        """Fraction of env steps done, 0..1."""
        if not self.env_steps_total:
            return 0.0
        return min(1.0, self.env_steps_done / self.env_steps_total)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class TrainingStat(models.Model):
    """One progress report of a run (an epoch): the history behind the learning curves."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="stats")
    env_steps = models.PositiveBigIntegerField()
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "env_steps", "id"]
