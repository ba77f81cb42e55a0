"""Training runs: create, cancel, execute under a lease, and reap the stuck ones.

Delivery: Celery acks training tasks late, so a task whose worker dies is delivered again; the lease
(`lease_owner` + `heartbeat_at`) makes sure only one copy trains at a time. A copy that finds a live
lease held elsewhere exits; one that finds a dead lease resumes from the run's last checkpoints.
`training_runs_reap` (on beat) re-queues runs whose heartbeat stopped and re-sends queued runs whose
message was lost (a broker that was down when the run was created).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from arena import live
from arena.models import Agent, TrainingRun, TrainingStat
from arena.services.agents import agent_check_owner
from arena.services.checkpoints import checkpoint_record

logger = logging.getLogger(__name__)

# Keys a user may set; the agent decides game, algorithm, network and learning seats.
USER_KEYS_FORBIDDEN = {"game", "algorithm", "network", "learn_seats"}


def _dispatch(run: TrainingRun) -> None:
    from arena.dispatch import task_send_on_commit
    from arena.tasks import train_run

    TrainingRun.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    # Never raises: with the broker down the run stays QUEUED and training_runs_reap re-sends it.
    task_send_on_commit(train_run, run.pk)


def training_config_build(*, agent: Agent, config: dict[str, Any]) -> dict[str, Any]:
    """The full marl config for a run of `agent`: the user's settings on top of the agent's spec.

    Validates through `marl.train.TrainConfig` so a bad config is refused before anything is queued.
    """
    if not isinstance(config, dict):
        raise ValidationError("config must be a JSON object")
    forbidden = USER_KEYS_FORBIDDEN & set(config)
    if forbidden:
        raise ValidationError(f"{', '.join(sorted(forbidden))} come from the agent and cannot be set per run")
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{key} must be a finite number")
    full = {
        **config,
        "game": agent.game.name,
        "algorithm": agent.algorithm,
        "network": agent.network,
        "learn_seats": agent.learning_seats,
    }
    from marl.errors import MarlError
    from marl.train import TrainConfig

    try:
        parsed = TrainConfig.from_dict(full)
    except MarlError as exc:
        raise ValidationError(str(exc)) from None
    if parsed.env_steps > settings.ARENA_MAX_TRAIN_STEPS:
        raise ValidationError(f"env_steps may be at most {settings.ARENA_MAX_TRAIN_STEPS}")
    return parsed.to_dict()


def _check_resumable(checkpoints) -> None:
    """Training continues from full training state; an imported checkpoint may carry weights only."""
    from marl.checkpoints import read_meta
    from marl.errors import MarlError

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
    from arena.ratelimit import rate_hit

    rate_hit(
        scope="train", ident=str(user.pk), limit=settings.ARENA_RATE_TRAINING, what="training submissions"
    )
    with transaction.atomic():
        agent = Agent.objects.select_related("game").select_for_update().get(pk=agent_id)
        agent_check_owner(agent=agent, user=user)
        active = TrainingRun.objects.filter(agent__owner=user, status__in=TrainingRun.ACTIVE).count()
        if active >= settings.ARENA_MAX_RUNS_PER_USER:
            raise ValidationError(
                f"you already have {active} training runs going (the limit is {settings.ARENA_MAX_RUNS_PER_USER})"
            )
        full = training_config_build(agent=agent, config=config)
        start = {cp.seat: cp for cp in agent.latest_checkpoints()}
        _check_resumable(start.values())
        base_steps = max((cp.env_steps for cp in start.values()), default=0)
        requested = full["env_steps"]
        full["env_steps"] = base_steps + requested
        run = TrainingRun.objects.create(
            agent=agent,
            config={**full, "start_from": {seat: cp.pk for seat, cp in start.items()}},
            env_steps_done=base_steps,
            env_steps_total=base_steps + requested,
        )
        _dispatch(run)
    live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})
    return run


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
        },
    )
    live.publish(live.run_group(run.pk), message)
    live.publish(live.agent_group(run.agent_id), message)
    live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})


def training_run_claim(*, run_id: int, worker: str) -> TrainingRun | None:
    """Take the run's lease for `worker`, or return None if it is finished or leased alive elsewhere."""
    lease = timedelta(seconds=settings.ARENA_LEASE_SECONDS)
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in TrainingRun.FINISHED:
            return None
        now = timezone.now()
        if run.cancel_requested:
            run.status, run.finished_at, run.lease_owner = TrainingRun.CANCELLED, now, ""
            run.save(update_fields=["status", "finished_at", "lease_owner"])
            return None
        alive = run.heartbeat_at is not None and run.heartbeat_at > now - lease
        if run.status == TrainingRun.RUNNING and run.lease_owner not in ("", worker) and alive:
            logger.info("run %s is leased by %s; %s exits", run.pk, run.lease_owner, worker)
            return None
        run.status, run.lease_owner, run.heartbeat_at = TrainingRun.RUNNING, worker, now
        run.attempts += 1
        run.started_at = run.started_at or now
        run.save(update_fields=["status", "lease_owner", "heartbeat_at", "attempts", "started_at"])
    _publish_status(run)
    return run


class _Heartbeat(threading.Thread):
    """Renews the lease while training runs; notices when it was lost (reaped, or taken over)."""

    def __init__(self, run_id: int, worker: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-run-{run_id}")
        self.run_id, self.worker = run_id, worker
        self.stopped = threading.Event()
        self.lost = False

    def beat(self) -> bool:
        updated = TrainingRun.objects.filter(pk=self.run_id, lease_owner=self.worker).update(
            heartbeat_at=timezone.now()
        )
        self.lost = self.lost or updated == 0
        return not self.lost

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(settings.ARENA_HEARTBEAT_SECONDS):
                try:
                    if not self.beat():
                        return
                except Exception:  # a DB blip must not kill the heartbeat; the next beat retries
                    logger.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()


def _resume_paths(run: TrainingRun) -> dict[str, str]:
    """The newest checkpoint per agent_id written by this run, else the ones the run started from."""
    from arena.models.agents import newest_per_seat

    latest = newest_per_seat(run.checkpoints.all())
    if not latest:
        from arena.models import Checkpoint

        ids = run.config.get("start_from", {})
        latest = {cp.seat: cp for cp in Checkpoint.objects.filter(pk__in=ids.values())}
    return {seat: str(cp.absolute_path()) for seat, cp in latest.items()}


def training_run_execute(*, run_id: int, worker: str) -> str | None:
    """Train a run to its end under a lease. Returns the final status, or None if another copy owns it."""
    from marl.train import TrainConfig, train

    run = training_run_claim(run_id=run_id, worker=worker)
    if run is None:
        return None
    heartbeat = _Heartbeat(run.pk, worker)
    heartbeat.start()
    out_dir = settings.MEDIA_ROOT / "agents" / str(run.agent_id) / f"run-{run.pk}"
    last_publish = 0.0

    def on_progress(stats: dict[str, Any]) -> None:
        nonlocal last_publish
        steps = int(stats.get("env_steps", 0))
        TrainingStat.objects.create(run_id=run.pk, env_steps=steps, data=stats)
        TrainingRun.objects.filter(pk=run.pk, lease_owner=worker).update(
            env_steps_done=steps, latest_stats=stats, heartbeat_at=timezone.now()
        )
        run.env_steps_done = steps
        message = live.training_stats_message(
            run_id=run.pk,
            agent_id=run.agent_id,
            status=TrainingRun.RUNNING,
            stats={**stats, "env_steps_total": run.env_steps_total},
        )
        live.publish(live.run_group(run.pk), message)
        live.publish(live.agent_group(run.agent_id), message)
        if time.monotonic() - last_publish > 2:  # the dashboard needs less than every epoch
            last_publish = time.monotonic()
            live.publish(live.DASHBOARD_GROUP, {"type": "runs_changed"})

    def on_checkpoint(seat: str, path, meta: dict[str, Any]) -> None:
        checkpoint_record(run_id=run.pk, seat=seat, path=path, meta=meta)

    def should_stop() -> bool:
        if heartbeat.lost:
            return True
        return TrainingRun.objects.filter(pk=run.pk, cancel_requested=True).exists()

    status, error = TrainingRun.COMPLETED, ""
    try:
        config = TrainConfig.from_dict({k: v for k, v in run.config.items() if k != "start_from"})
        train(
            config,
            out_dir=out_dir,
            on_progress=on_progress,
            should_stop=should_stop,
            on_checkpoint=on_checkpoint,
            resume_from=_resume_paths(run) or None,
        )
        if heartbeat.lost:
            status = None
        elif TrainingRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            status = TrainingRun.CANCELLED
    except Exception as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            status, error = (
                TrainingRun.TIMED_OUT,
                "stopped by the soft time limit; resumable from its checkpoints",
            )
        else:
            logger.exception("training run %s failed", run.pk)
            status, error = TrainingRun.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    if status is None:  # the lease went to someone else: they own the run now
        return None
    with transaction.atomic():
        updated = TrainingRun.objects.filter(pk=run.pk, lease_owner=worker).update(
            status=status, error=error, finished_at=timezone.now(), lease_owner="", heartbeat_at=None
        )
    if not updated:
        return None
    run.refresh_from_db()
    _publish_status(run)
    return status


def training_runs_reap() -> dict[str, int]:
    """Re-queue runs whose worker stopped heart-beating and re-send queued runs whose message got lost."""
    now = timezone.now()
    dead_before = now - timedelta(seconds=settings.ARENA_LEASE_SECONDS)
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
    stale = now - timedelta(seconds=settings.ARENA_QUEUED_REDISPATCH_SECONDS)
    resent = 0
    for run in TrainingRun.objects.filter(status=TrainingRun.QUEUED, dispatched_at__lt=stale):
        with transaction.atomic():
            _dispatch(run)
        resent += 1
    return {"requeued": requeued, "resent": resent}
