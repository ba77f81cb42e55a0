"""Training runs: create, cancel, execute under a lease, and reap the stuck ones (their configs are checked
and completed in `training_configs`).

Delivery: Celery acks training tasks late, so a task whose worker dies is delivered again; the lease
(`lease_owner` + `heartbeat_at`) makes sure only one copy trains at a time. A copy that finds a live
lease held elsewhere exits; one that finds a dead lease resumes from the run's last checkpoints.
`training_runs_reap` (on beat) re-queues runs whose heartbeat stopped and re-sends queued runs whose
message was lost (a broker that was down when the run was created).

`marl.train`, `marl.train_config` and `marl.checkpoints` load torch and Tianshou (seconds and hundreds
of MB), so they are imported inside the functions that need them: a web process never loads them.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from arena import live
from arena.dispatch import task_send_on_commit
from arena.models import Agent, Checkpoint, League, TrainingRun, TrainingStat
from arena.models.agents import newest_per_seat
from arena.ratelimit import rate_hit
from arena.serializers import checkpoint_row_json
from arena.services.agents import agent_check_active, agent_check_owner
from arena.services.checkpoints import checkpoint_record
from arena.services.failures import LogTail, failure_report
from arena.services.leases import Heartbeat, lease_claim, lease_kept, lease_release
from arena.services.training_configs import training_config_build, training_pool_resolve
from arena.services.training_watch import TrainingGameStream
from marl.errors import MarlError

logger = logging.getLogger(__name__)


def _dispatch(run: TrainingRun) -> None:
    TrainingRun.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    # Never raises: with the broker down the run stays QUEUED and training_runs_reap re-sends it.
    task_send_on_commit("arena.tasks.train_run", run.pk)


def _check_resumable(checkpoints) -> None:
    """Training continues from full training state; an imported checkpoint may carry weights only."""
    from marl.checkpoints import read_meta  # lazy: torch

    for checkpoint in checkpoints:
        try:
            has_state = bool(read_meta(checkpoint.absolute_path()).get("state_sha256"))
        except MarlError as exc:
            raise ValidationError(f"cannot continue from {checkpoint}: {exc}") from None
        if not has_state:
            raise ValidationError(
                f"{checkpoint} has no training state (it was imported with weights only); "
                "import it with its .state.safetensors file to continue training from it"
            )


def training_run_create(*, user, agent_id: int, config: dict[str, Any]) -> TrainingRun:
    """Queue a training run for an agent the user owns. It continues from the agent's latest
    checkpoints, training `env_steps` more steps."""
    rate_hit(
        scope="train", ident=str(user.pk), limit=settings.ARENA_RATE_TRAINING, what="training submissions"
    )
    with transaction.atomic():
        agent = Agent.objects.select_related("game").select_for_update().get(pk=agent_id)
        agent_check_owner(agent=agent, user=user)
        agent_check_active(agent=agent)
        training_jobs_check(user=user)
        run = _run_insert(agent, training_config_build(agent=agent, config=config))
        _dispatch(run)
    live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})
    return run


def training_jobs_check(*, user) -> None:
    """Refuse one more training job when the user's queued or running runs and active leagues (each
    trains on a schedule) already reach `ARENA_MAX_RUNS_PER_USER`."""
    runs = TrainingRun.objects.filter(agent__owner=user, status__in=TrainingRun.ACTIVE).count()
    leagues = League.objects.filter(owner=user, status=League.ACTIVE).count()
    if runs + leagues >= settings.ARENA_MAX_RUNS_PER_USER:
        raise ValidationError(
            f"you already have {runs} training runs and {leagues} active leagues going (the limit is "
            f"{settings.ARENA_MAX_RUNS_PER_USER}, leagues included); pause a league or wait for a run"
        )


def _run_insert(agent: Agent, config: dict[str, Any]) -> TrainingRun:
    """The run row: it starts from the agent's newest checkpoints and trains `env_steps` past them."""
    start = {cp.seat: cp for cp in agent.latest_checkpoints()}
    _check_resumable(start.values())
    base_steps = max((cp.env_steps for cp in start.values()), default=0)
    total = base_steps + config["env_steps"]
    return TrainingRun.objects.create(
        agent=agent,
        config={**config, "env_steps": total, "start_from": {seat: cp.pk for seat, cp in start.items()}},
        env_steps_done=base_steps,
        env_steps_total=total,
    )


def training_run_cancel(*, user, run_id: int) -> TrainingRun:
    """Ask a run to stop. A queued run stops at once; a running one at its next epoch boundary."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().select_related("agent").get(pk=run_id)
        agent_check_owner(agent=run.agent, user=user)
        if run.status not in TrainingRun.ACTIVE:
            raise ValidationError(f"run {run.pk} is already {run.status}")
        run.cancel_requested = True
        if run.status == TrainingRun.QUEUED:
            run.status = TrainingRun.CANCELLED
            run.finished_at = timezone.now()
        run.save(update_fields=["cancel_requested", "status", "finished_at"])
    _publish_status(run)
    return run


def _publish_status(run: TrainingRun) -> None:
    message = live.training_stats_message(
        run_id=run.pk,
        agent_id=run.agent_id,
        status=run.status,
        stats={
            "env_steps": run.env_steps_done,
            "env_steps_total": run.env_steps_total,
            "progress": run.progress,
            "error": run.error,
            "failure": run.failure,
        },
    )
    live.publish(live.run_group(run.pk), message)
    live.publish(live.agent_group(run.agent_id), message)
    live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})


def training_run_claim(*, run_id: int, worker: str) -> TrainingRun | None:
    """Take the run's lease for `worker`, or return None if it is finished, cancelled or leased alive
    elsewhere. A run whose cancel was asked for before any worker took it is marked cancelled here."""
    now = timezone.now()
    open_rows = TrainingRun.objects.filter(pk=run_id).exclude(status__in=TrainingRun.FINISHED)
    if not _claim(open_rows.filter(cancel_requested=False), worker, now):
        open_rows.filter(cancel_requested=True).update(
            status=TrainingRun.CANCELLED, finished_at=now, lease_owner=""
        )
        logger.info("run %s is finished, cancelled or leased elsewhere; %s exits", run_id, worker)
        return None
    run = TrainingRun.objects.get(pk=run_id)
    _publish_status(run)
    return run


def _claim(rows: QuerySet[TrainingRun], worker: str, now: datetime) -> bool:
    """A run is leased alive while it runs and its heartbeat is younger than ARENA_LEASE_SECONDS."""
    alive = Q(
        status=TrainingRun.RUNNING, heartbeat_at__gt=now - timedelta(seconds=settings.ARENA_LEASE_SECONDS)
    )
    return lease_claim(
        rows,
        worker=worker,
        alive=alive,
        status=TrainingRun.RUNNING,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", Value(now)),
    )


def _resume_paths(run: TrainingRun) -> dict[str, str]:
    """The newest checkpoint per agent_id written by this run, else the ones the run started from."""
    latest = newest_per_seat(run.checkpoints.all())
    if not latest:
        ids = run.config.get("start_from", {})
        latest = {cp.seat: cp for cp in Checkpoint.objects.filter(pk__in=ids.values())}
    return {seat: str(cp.absolute_path()) for seat, cp in latest.items()}


def _beat() -> dict[str, Any]:
    return {"heartbeat_at": timezone.now()}


def training_run_execute(*, run_id: int, worker: str) -> str | None:
    """Train a run to its end under a lease. Returns the final status, or None if another copy owns it."""
    run = training_run_claim(run_id=run_id, worker=worker)
    if run is None:
        return None
    rows = TrainingRun.objects.filter(pk=run.pk)
    with lease_kept(rows, worker=worker, renewal=_beat) as heartbeat, LogTail() as log:
        reporter = _Reporter(run, worker, heartbeat, log)
        try:
            status, error = _train(run, reporter)
        finally:
            reporter.games.close()
    if status is None:  # the lease went to someone else: they own the run now
        return None
    released = lease_release(
        TrainingRun.objects.filter(pk=run.pk),
        worker=worker,
        status=status,
        error=error,
        finished_at=timezone.now(),
        heartbeat_at=None,
        failure=reporter.failure,
    )
    if not released:
        return None
    run.refresh_from_db()
    _publish_status(run)
    return status


class _Reporter:
    """What `marl.train` calls back: progress into the DB and the live stream, new checkpoints, sampled
    games for the run page's board, and whether to stop (a cancel, or a lost lease)."""

    def __init__(self, run: TrainingRun, worker: str, heartbeat: Heartbeat, log: LogTail) -> None:
        self.run, self.worker, self.heartbeat, self.log = run, worker, heartbeat, log
        self.last_dashboard = 0.0
        self.last_epoch, self.last_checkpoint, self.failure = None, None, {}
        self.games = TrainingGameStream(
            run.pk, moves_per_second=settings.ARENA_TRAINING_WATCH_MOVES_PER_SECOND
        )

    def progress(self, stats: dict[str, Any]) -> None:
        run, steps = self.run, int(stats.get("env_steps", 0))
        TrainingStat.objects.create(run_id=run.pk, env_steps=steps, data=stats)
        TrainingRun.objects.filter(pk=run.pk, lease_owner=self.worker).update(
            env_steps_done=steps, latest_stats=stats, heartbeat_at=timezone.now()
        )
        run.env_steps_done, self.last_epoch = steps, stats.get("epoch")
        message = live.training_stats_message(
            run_id=run.pk,
            agent_id=run.agent_id,
            status=TrainingRun.RUNNING,
            stats={**stats, "env_steps_total": run.env_steps_total},
        )
        live.publish(live.run_group(run.pk), message)
        live.publish(live.agent_group(run.agent_id), message)
        if time.monotonic() - self.last_dashboard > 2:  # the dashboard needs less than every epoch
            self.last_dashboard = time.monotonic()
            live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})

    def checkpoint(self, seat: str, path: Path, meta: dict[str, Any]) -> None:
        """Record the file and add it to the run page's list of checkpoints written."""
        checkpoint = checkpoint_record(run_id=self.run.pk, seat=seat, path=path, meta=meta)
        self.last_checkpoint = path.stem
        row = checkpoint_row_json(checkpoint)
        live.publish(
            live.run_group(self.run.pk), live.run_checkpoint_message(run_id=self.run.pk, checkpoint=row)
        )

    def failed(self, exc: BaseException) -> None:
        """Keep the report of what failed and where the run stopped, for its page."""
        run = self.run
        stopped_at = {
            "env_steps": run.env_steps_done,
            "env_steps_total": run.env_steps_total,
            "epoch": self.last_epoch,
            "checkpoint": self.last_checkpoint,
        }
        said = f"at {run.env_steps_done:,} of {run.env_steps_total:,} env steps"
        if self.last_epoch is not None:
            said += f", after epoch {self.last_epoch}"
        if self.last_checkpoint:
            said += f" (last checkpoint {self.last_checkpoint})"
        self.failure = failure_report(exc, log=self.log, stopped_at={**stopped_at, "said": said})

    def cancelled(self) -> bool:
        return TrainingRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists()

    def should_stop(self) -> bool:
        return self.heartbeat.lost or self.cancelled()


def _train(run: TrainingRun, reporter: _Reporter) -> tuple[str | None, str]:
    """Run `marl.train` for the run; its final status and error (status None: the lease was lost)."""
    from marl.train import TrainConfig, train  # lazy: torch and Tianshou

    try:
        train(
            TrainConfig.from_dict(
                training_pool_resolve(config={k: v for k, v in run.config.items() if k != "start_from"})[0]
            ),
            out_dir=settings.MEDIA_ROOT / "agents" / str(run.agent_id) / f"run-{run.pk}",
            on_progress=reporter.progress,
            should_stop=reporter.should_stop,
            on_checkpoint=reporter.checkpoint,
            resume_from=_resume_paths(run) or None,
            **_watch_hooks(reporter),
        )
        if reporter.heartbeat.lost:
            return None, ""
        return (TrainingRun.CANCELLED if reporter.cancelled() else TrainingRun.COMPLETED), ""
    except SoftTimeLimitExceeded as exc:
        reporter.failed(exc)
        return TrainingRun.TIMED_OUT, "stopped by the soft time limit; resumable from its checkpoints"
    except Exception as exc:
        logger.exception("training run %s failed", run.pk)
        reporter.failed(exc)
        return TrainingRun.FAILED, reporter.failure["what"]  # as reported: no server path


def _watch_hooks(reporter: _Reporter) -> dict[str, Any]:
    """A sampled game every `ARENA_TRAINING_WATCH_SECONDS` for the run page (0: none)."""
    every = settings.ARENA_TRAINING_WATCH_SECONDS
    return {"on_sample": reporter.games.offer, "sample_every_s": every} if every > 0 else {}


def training_runs_reap() -> dict[str, int]:
    """Re-queue runs whose worker stopped heart-beating and re-send queued runs whose message got lost."""
    return {"requeued": _requeue_dead(), "resent": _resend_queued()}


def _requeue_dead() -> int:
    dead_before = timezone.now() - timedelta(seconds=settings.ARENA_LEASE_SECONDS)
    requeued = 0
    for run_id in TrainingRun.objects.filter(
        status=TrainingRun.RUNNING, heartbeat_at__lt=dead_before
    ).values_list("pk", flat=True):
        with transaction.atomic():
            run = TrainingRun.objects.select_for_update().get(pk=run_id)
            if run.status != TrainingRun.RUNNING or (run.heartbeat_at and run.heartbeat_at >= dead_before):
                continue
            logger.warning("run %s: lease of %s is dead; re-queueing", run.pk, run.lease_owner)
            run.status, run.lease_owner, run.heartbeat_at = TrainingRun.QUEUED, "", None
            run.save(update_fields=["status", "lease_owner", "heartbeat_at"])
            _dispatch(run)
            requeued += 1
    return requeued


def _resend_queued() -> int:
    stale = timezone.now() - timedelta(seconds=settings.ARENA_QUEUED_REDISPATCH_SECONDS)
    resent = 0
    for run in TrainingRun.objects.filter(status=TrainingRun.QUEUED, dispatched_at__lt=stale):
        with transaction.atomic():
            _dispatch(run)
        resent += 1
    return resent
