"""Faults injected for real: duplicate deliveries to two worker processes, a writer killed mid-checkpoint,
tampered files, Redis restarted under idle workers and a live match, the broker down while work is
created, and the soft time limit. Each starts real processes (celery workers, redis-server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from arena.dispatch import task_send
from arena.models import ApiToken, Checkpoint, Match, TrainingRun
from arena.services.checkpoints import checkpoint_orphans_clean
from arena.services.matches import match_create, match_play, matches_reap
from arena.services.training import training_run_create, training_runs_reap
from tests.arena._faults import app_on
from tests.arena.conftest import ROOT, refreshed, wait_until
from tests.factories import (
    TINY_TRAINING,
    AgentFactory,
    CheckpointFactory,
    checkpoint_files,
    checkpoint_uploaded,
)

BOTS = {"player_1": "bot:random", "player_2": "bot:random"}


def _ready(worker) -> bool:
    return " ready." in worker.log.read_text()


def _assert_one_clean_history(run: TrainingRun, seats: list[str]) -> None:
    for seat in seats:
        rows = list(Checkpoint.objects.filter(training_run=run, seat=seat).order_by("version"))
        assert rows, f"no checkpoints for {seat}"
        assert [c.version for c in rows] == list(range(1, len(rows) + 1)), "versions gap or repeat"
        steps = [c.env_steps for c in rows]
        assert steps == sorted(set(steps)), f"steps repeat or go back: {steps}"
        assert all(c.absolute_path().is_file() for c in rows), "a row without its file"


# ----------------------------------------------------------------------------- (a) duplicate delivery
@pytest.mark.slow
def test_a_run_delivered_twice_at_once_trains_once(worker_process, agent, user, settings):
    settings.ARENA_LEASE_SECONDS = 10
    settings.ARENA_HEARTBEAT_SECONDS = 0.5
    workers = [worker_process("dup1"), worker_process("dup2")]
    wait_until(lambda: all(_ready(w) for w in workers), timeout=60, message="both workers ready")
    run = training_run_create(user=user, agent_id=agent.pk, config={**TINY_TRAINING, "env_steps": 3000})
    assert task_send("arena.tasks.train_run", run.pk)  # the broker hands the same run out a second time
    wait_until(lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=240, message="the run")
    assert run.status == TrainingRun.COMPLETED, run.error
    assert run.attempts == 1  # the second copy found the live lease and exited without claiming
    wait_until(
        lambda: (
            sum("train_run" in w.log.read_text() and "succeeded" in w.log.read_text() for w in workers) == 2
        ),
        timeout=30,
        message="both deliveries to end",
    )
    outcomes = sorted(
        line.rsplit(":", 1)[1].strip()
        for w in workers
        for line in w.log.read_text().splitlines()
        if "train_run" in line and "succeeded" in line
    )
    # One delivery trained; the other found the live lease and left (any other None is a stale message).
    assert outcomes.count("'completed'") == 1 and "None" in outcomes, outcomes
    _assert_one_clean_history(run, agent.learning_seats)
    # One set: both seats saved at the same env_steps, once each (a second trainer would add its own).
    per_seat = [
        list(Checkpoint.objects.filter(training_run=run, seat=s).values_list("env_steps", flat=True))
        for s in agent.learning_seats
    ]
    assert per_seat[0] == per_seat[1] and max(per_seat[0]) >= 3000


# ------------------------------------------------------------------- (b) killed writers and orphans
WRITER = """
import sys, torch
from marl.checkpoints import save_checkpoint
weights = {f"w{i}": torch.randn(1024, 1024) for i in range(48)}  # ~200 MB: long enough to be killed
meta = {"game": "tictactoe", "env_id": "tictactoe_v3", "algorithm": "dqn", "network": {"kind": "mlp",
        "hidden": [16]}, "agent_id": "player_1", "env_steps": 1}
print("writing", flush=True)
save_checkpoint(sys.argv[1], "big", weights=weights, state=weights, meta=meta)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_checkpoint_leaves_no_final_file_and_the_cleaner_removes_the_rest(media_root, db):
    out = media_root / "agents" / "1" / "run-1"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], cwd=ROOT, start_new_session=True)
    try:
        wait_until(lambda: list(out.glob(".*.tmp")), timeout=120, interval=0.02, message="a temp file")
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait(10)
    assert not (out / "big.json").exists(), "a sidecar vouches for a checkpoint that was not finished"
    from marl.checkpoints import load_checkpoint
    from marl.errors import CheckpointError

    with pytest.raises(CheckpointError, match="sidecar"):
        load_checkpoint(out / "big.safetensors")
    leftovers = [p.name for p in out.iterdir()]
    assert any(n.endswith(".tmp") for n in leftovers)
    assert checkpoint_orphans_clean()["temp_files"] == 0  # young files are left alone (a live writer)
    cleaned = checkpoint_orphans_clean(older_than_minutes=0)
    assert cleaned["temp_files"] >= 1
    assert list(out.iterdir()) == []


def test_the_cleaner_removes_unrecorded_checkpoints_and_keeps_recorded_ones(user, media_root, tmp_path, db):
    agent = AgentFactory(owner=user, name="kept")
    weights, sidecar, _ = checkpoint_files(tmp_path)
    recorded = checkpoint_uploaded(user, agent, weights, sidecar)
    # What a worker killed between save_checkpoint and checkpoint_record leaves: complete, unrecorded.
    orphan_dir = media_root / "agents" / str(agent.pk) / "run-9"
    orphan_dir.mkdir(parents=True)
    for suffix in (".safetensors", ".state.safetensors", ".json"):
        (orphan_dir / f"player_1-000000200{suffix}").write_bytes(b"x")
    (orphan_dir / "notes.txt").write_text("not a checkpoint file: left alone")
    assert checkpoint_orphans_clean(older_than_minutes=0) == {"checkpoints": 1, "temp_files": 0}
    assert sorted(p.name for p in orphan_dir.iterdir()) == ["notes.txt"]
    assert recorded.absolute_path().is_file() and recorded.absolute_path().with_suffix(".json").is_file()
    from django.conf import settings as dj_settings

    schedule = {entry["task"] for entry in dj_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "arena.tasks.clean_checkpoint_orphans" in schedule


def test_a_tampered_checkpoint_fails_its_match_cleanly(agent, db):
    checkpoint = CheckpointFactory(agent=agent)
    path = checkpoint.absolute_path()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last weight
    path.write_bytes(bytes(data))
    match = match_create(
        user=agent.owner,
        game="tictactoe",
        seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
        dispatch=False,
    )
    assert match_play(match_id=match.pk) == Match.FAILED
    assert "sha256" in refreshed(match).error and match.moves == match.opening  # no move past the opening


# ------------------------------------------------------------------------------- (d) broker down
@pytest.mark.slow
def test_broker_down_requests_succeed_and_the_reapers_dispatch_when_it_returns(
    private_redis, worker_process, agent, user, settings, monkeypatch
):
    settings.ARENA_QUEUED_REDISPATCH_SECONDS = 1
    client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user=user, name='t')[1]}")
    with app_on(private_redis.url, settings):
        private_redis.stop()
        started = time.monotonic()
        response = client.post(
            "/api/runs", {"agent": agent.pk, "config": TINY_TRAINING}, content_type="application/json"
        )
        match_response = client.post(
            "/api/matches", {"game": "tictactoe", "seats": BOTS, "seed": 5}, content_type="application/json"
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 201 and match_response.status_code == 201, response.content
        assert elapsed < 10, f"requests hung on the dead broker for {elapsed:.1f}s"
        run = TrainingRun.objects.get(pk=response.json()["id"])
        match = Match.objects.get(pk=match_response.json()["id"])
        assert (run.status, match.status) == (TrainingRun.QUEUED, Match.PENDING)

        private_redis.start()  # back, empty: the messages were never sent
        monkeypatch.setenv("REDIS_URL", private_redis.url)
        worker = worker_process("after-outage")
        time.sleep(1.1)
        assert training_runs_reap()["resent"] == 1
        assert matches_reap() == 1
        wait_until(
            lambda: refreshed(match).status == Match.FINISHED, timeout=120, message=f"match ({worker.log})"
        )
        wait_until(lambda: refreshed(run).status == TrainingRun.COMPLETED, timeout=240, message="the run")
        assert match.attempts == 1 and run.attempts == 1


def test_a_rolled_back_transaction_dispatches_nothing(private_redis, agent, user, settings, transactional_db):
    redis_client = private_redis.client()
    with app_on(private_redis.url, settings):
        with pytest.raises(RuntimeError), transaction.atomic():
            training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
            match_create(user=user, game="tictactoe", seats=BOTS)
            raise RuntimeError("the request failed after creating them")
        assert not TrainingRun.objects.exists() and not Match.objects.exists()
        assert redis_client.llen("training") == 0 and redis_client.llen("games") == 0
        training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
        match_create(user=user, game="tictactoe", seats=BOTS)
        assert redis_client.llen("training") == 1 and redis_client.llen("games") == 1


# --------------------------------------------------------------------------- (c) Redis restarted
@pytest.mark.slow
async def test_redis_restarts_under_idle_workers_and_a_watched_match(
    private_redis, worker_process, user, settings, monkeypatch
):
    from asgiref.sync import sync_to_async

    from arena.asgi import application

    monkeypatch.setenv("REDIS_URL", private_redis.url)
    with app_on(private_redis.url, settings):
        worker = await sync_to_async(worker_process)("restart")
        new_match = sync_to_async(
            lambda delay: match_create(user=user, game="tictactoe", seats=BOTS, move_delay=delay)
        )
        status = sync_to_async(lambda pk: Match.objects.get(pk=pk).status)

        async def finished(pk: int, timeout: float = 90) -> None:
            deadline = time.monotonic() + timeout
            while await status(pk) != Match.FINISHED:
                assert time.monotonic() < deadline, f"match {pk} did not finish (log: {worker.log})"
                await asyncio.sleep(0.2)

        canary = await new_match(0.0)
        await finished(canary.pk)
        private_redis.restart()  # workers idle: their broker connections die
        after_idle = await new_match(0.0)
        await finished(after_idle.pk)

        watched = await new_match(0.4)
        origin = [(b"origin", b"http://127.0.0.1")]
        spectator = WebsocketCommunicator(application, f"/ws/matches/{watched.pk}/", headers=origin)
        assert (await spectator.connect(timeout=5))[0]
        assert (await spectator.receive_json_from(timeout=5))["type"] == "snapshot"
        event = await spectator.receive_json_from(timeout=30)
        assert event["type"] == "event"
        private_redis.restart()  # mid-game, with a spectator connected
        await finished(watched.pk)
        # Its layer connection died with Redis: the server closes the socket and the client reconnects.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            await spectator.disconnect()
        # The spectator reconnects as its client does, with backoff: the first tries may meet pooled
        # connections to the old server (they fail once and are replaced); then it gets the result.
        for attempt in range(6):
            again = WebsocketCommunicator(application, f"/ws/matches/{watched.pk}/", headers=origin)
            try:
                assert (await again.connect(timeout=5))[0]
                snapshot = await again.receive_json_from(timeout=5)
                await again.disconnect()
                break
            except (redis.exceptions.ConnectionError, AssertionError):
                await asyncio.sleep(0.2 * 2**attempt)
        else:
            pytest.fail("the spectator could not reconnect after the restart")
        assert snapshot["match"]["status"] == Match.FINISHED and snapshot["match"]["result"]


# ------------------------------------------------------------------------------- (e) soft time limit
@pytest.mark.slow
def test_the_soft_time_limit_ends_a_run_timed_out_and_it_resumes(
    worker_process, agent, user, settings, monkeypatch
):
    from arena.tasks import train_run

    # The limit travels in the message, set by the sender from its task options (Celery 5.7), so the
    # web side and the worker both see the deployment's ARENA_TRAINING_SOFT_TIME_LIMIT.
    # 25 s: long enough for a loaded machine's worker child to import torch and write a checkpoint first.
    monkeypatch.setenv("ARENA_TRAINING_SOFT_TIME_LIMIT", "25")
    monkeypatch.setattr(train_run, "soft_time_limit", 25)
    monkeypatch.setattr(train_run, "time_limit", 310)
    monkeypatch.setattr(train_run, "_exec_options", None)  # Celery caches the options of the first send
    worker = worker_process("soft", pool="prefork")  # as in production: solo enforces no time limits
    quick = {**TINY_TRAINING, "env_steps": 500_000, "steps_per_epoch": 50, "num_envs": 1, "eval_games": 2}
    run = training_run_create(user=user, agent_id=agent.pk, config=quick)
    wait_until(
        lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=120, message=f"limit ({worker.log})"
    )
    assert run.status == TrainingRun.TIMED_OUT and "resumable" in run.error
    # Its report says where the limit found it: the env steps done and a frame of the training code.
    assert run.failure["what"].startswith("SoftTimeLimitExceeded")
    assert run.failure["stopped_at"]["env_steps"] == run.env_steps_done and run.failure["where"]
    _assert_one_clean_history(run, agent.learning_seats)
    last = {c.seat: c for c in agent.latest_checkpoints()}
    worker.stop()
    monkeypatch.delenv("ARENA_TRAINING_SOFT_TIME_LIMIT")
    monkeypatch.setattr(train_run, "soft_time_limit", 3600)
    monkeypatch.setattr(train_run, "time_limit", 3900)
    monkeypatch.setattr(train_run, "_exec_options", None)
    worker_process("resume")
    settings.ARENA_MAX_RUNS_PER_USER = 5
    again = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    wait_until(
        lambda: refreshed(again).status not in TrainingRun.ACTIVE, timeout=180, message="the resumed run"
    )
    assert again.status == TrainingRun.COMPLETED, again.error
    for seat, checkpoint in last.items():
        first = Checkpoint.objects.filter(training_run=again, seat=seat).order_by("version").first()
        assert first.parent_id == checkpoint.pk and first.env_steps > checkpoint.env_steps
