"""Training runs through a real Celery worker on the real Redis broker, with real Tianshou training."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from arena.models import Checkpoint, TrainingRun, TrainingStat
from arena.services.training import (
    training_run_cancel,
    training_run_claim,
    training_run_create,
    training_runs_reap,
)
from tests.arena.conftest import refreshed, wait_until
from tests.factories import TINY_TRAINING


def test_run_trains_end_to_end_and_stores_checkpoints_per_seat(celery_worker, agent, user, media_root: Path):
    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    wait_until(
        lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=180, message="the run to finish"
    )
    assert run.status == TrainingRun.COMPLETED, run.error
    assert run.env_steps_done >= TINY_TRAINING["env_steps"]
    seats = set(agent.game.seats)
    assert set(Checkpoint.objects.filter(agent=agent).values_list("seat", flat=True)) == seats
    for checkpoint in Checkpoint.objects.filter(agent=agent):
        assert checkpoint.absolute_path().is_file()
        assert len(checkpoint.sha256) == 64
    for seat in seats:
        versions = list(
            Checkpoint.objects.filter(agent=agent, seat=seat)
            .order_by("version")
            .values_list("version", flat=True)
        )
        assert versions == list(range(1, len(versions) + 1))
    stats = list(TrainingStat.objects.filter(run=run))
    assert stats and "win_rate" in stats[-1].data


def test_a_second_run_continues_from_the_latest_checkpoints(celery_worker, agent, user):
    first = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    wait_until(lambda: refreshed(first).status == TrainingRun.COMPLETED, timeout=180, message="first run")
    base = max(c.env_steps for c in agent.latest_checkpoints())
    second = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    assert second.env_steps_total == base + TINY_TRAINING["env_steps"]
    wait_until(lambda: refreshed(second).status not in TrainingRun.ACTIVE, timeout=180, message="second run")
    assert second.status == TrainingRun.COMPLETED, second.error
    newest = {c.seat: c for c in agent.latest_checkpoints()}
    assert all(c.training_run_id == second.pk and c.env_steps > base for c in newest.values())
    for seat in newest:
        first_of_second = (
            Checkpoint.objects.filter(training_run=second, seat=seat).order_by("version").first()
        )
        assert first_of_second.parent.training_run_id == first.pk


def test_cancel_stops_a_running_run_at_an_epoch_boundary(celery_worker, agent, user):
    run = training_run_create(user=user, agent_id=agent.pk, config={**TINY_TRAINING, "env_steps": 200_000})
    wait_until(
        lambda: Checkpoint.objects.filter(training_run=run).exists(), timeout=120, message="a checkpoint"
    )
    training_run_cancel(user=user, run_id=run.pk)
    wait_until(lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=120, message="the cancel")
    assert run.status == TrainingRun.CANCELLED
    assert run.env_steps_done < 200_000


def test_cancelling_a_queued_run_means_it_never_trains(agent, user, transactional_db):
    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    training_run_cancel(user=user, run_id=run.pk)
    assert refreshed(run).status == TrainingRun.CANCELLED
    assert training_run_claim(run_id=run.pk, worker="late-delivery") is None


def test_a_second_copy_exits_while_the_lease_is_alive(agent, user, transactional_db):
    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    assert training_run_claim(run_id=run.pk, worker="first") is not None
    assert training_run_claim(run_id=run.pk, worker="second") is None
    assert refreshed(run).lease_owner == "first"


def test_a_dead_lease_is_taken_over_and_the_reaper_requeues_it(agent, user, settings, transactional_db):
    from datetime import timedelta

    from django.utils import timezone

    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    training_run_claim(run_id=run.pk, worker="dead")
    TrainingRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.ARENA_LEASE_SECONDS + 1)
    )
    assert training_runs_reap()["requeued"] == 1
    assert refreshed(run).status == TrainingRun.QUEUED and run.lease_owner == ""
    assert training_run_claim(run_id=run.pk, worker="alive").attempts == 2


def test_killed_worker_leaves_a_run_that_is_resumed_without_gaps(worker_process, agent, user, settings):
    settings.ARENA_LEASE_SECONDS = 4
    settings.ARENA_HEARTBEAT_SECONDS = 0.5
    run = training_run_create(user=user, agent_id=agent.pk, config={**TINY_TRAINING, "env_steps": 4_000})
    first = worker_process("first")
    wait_until(
        lambda: Checkpoint.objects.filter(training_run=run).count() >= 2,
        timeout=180,
        message=f"a checkpoint from the first worker (log: {first.log})",
    )
    first.kill()
    killed_at_steps = refreshed(run).env_steps_done
    assert run.status == TrainingRun.RUNNING
    second = worker_process("second")
    # The reaper (beat, every 30 s in production) notices the dead lease and re-queues the run.
    wait_until(
        lambda: training_runs_reap()["requeued"] or refreshed(run).status != TrainingRun.RUNNING,
        timeout=60,
        interval=0.5,
        message="the reaper to see the dead lease",
    )
    wait_until(
        lambda: refreshed(run).status not in TrainingRun.ACTIVE,
        timeout=480,
        message=f"the resumed run to finish (log: {second.log})",
    )
    assert run.status == TrainingRun.COMPLETED, run.error
    assert run.attempts == 2
    for seat in agent.game.seats:
        rows = list(Checkpoint.objects.filter(training_run=run, seat=seat).order_by("version"))
        assert [c.version for c in rows] == list(range(1, len(rows) + 1)), "versions have a gap or a repeat"
        assert [c.env_steps for c in rows] == sorted({c.env_steps for c in rows}), "steps repeat or go back"
    resumed = Checkpoint.objects.filter(training_run=run, env_steps__gt=killed_at_steps)
    assert resumed.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"env_steps": -5}, "env_steps"),
        ({"env_steps": float("nan")}, "finite"),
        ({"lr": float("inf")}, "finite"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"algorithm": "ppo"}, "come from the agent"),
        ({"env_steps": 10**12}, "env_steps"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_queued(agent, user, config, message, transactional_db):
    with pytest.raises(ValidationError, match=message):
        training_run_create(user=user, agent_id=agent.pk, config=config)
    assert not TrainingRun.objects.exists()


def test_only_the_owner_can_train_or_cancel(agent, other_user, user, transactional_db):
    with pytest.raises(PermissionDenied):
        training_run_create(user=other_user, agent_id=agent.pk, config=TINY_TRAINING)
    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    with pytest.raises(PermissionDenied):
        training_run_cancel(user=other_user, run_id=run.pk)


def test_per_user_limit_on_concurrent_runs(agent, user, settings, transactional_db):
    settings.ARENA_MAX_RUNS_PER_USER = 1
    training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    with pytest.raises(ValidationError, match="limit"):
        training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
