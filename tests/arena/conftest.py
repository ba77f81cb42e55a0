"""Fixtures for the Django side: users and an agent (from `tests/factories.py`), a real Celery worker (in
a thread or a subprocess), waiting, and a browser's session cookie."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.arena._faults import PrivateRedis
from tests.conftest import thread_worker
from tests.factories import AgentFactory, UserFactory
from tests.servers import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Each test writes checkpoints into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def rate_limits_reset(redis_url: str) -> None:
    """Fresh rate-limit counters: they are keyed by user id and IP, which repeat from test to test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="*arena:rl:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def user(db):
    return UserFactory(username="ada")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def agent(user):
    """Ada's tic-tac-toe agent, learning both seats with a small network."""
    return AgentFactory(owner=user, name="learner")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def private_channel_layer(settings) -> str:
    """A channel prefix of our own: group names (`match-1`) repeat across test sessions sharing Redis."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    prefix = f"arena-test-{uuid.uuid4().hex[:10]}"
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    return prefix


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, to stop and restart under the app (see `_faults.app_on`)."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def session_cookie(user) -> tuple[bytes, bytes]:
    """The `cookie` header of a logged-in browser: AuthMiddlewareStack reads `sessionid` from it."""
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


SAME_ORIGIN = (b"origin", b"http://127.0.0.1")  # what a page of the site sends with its socket


async def socket_open(path: str, user=None) -> tuple[object, dict]:
    """A WebSocket to the real ASGI stack from a page of the site (signed in as `user` if given), and
    the first message it gets: the snapshot."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from arena.asgi import application

    headers = [SAME_ORIGIN] + (
        [await database_sync_to_async(session_cookie)(user)] if user is not None else []
    )
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


def refreshed(row):
    """`row` reloaded from the database, for polling a status in `wait_until`."""
    row.refresh_from_db()
    return row


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 60.0,
    interval: float = 0.1,
    message: str = "condition",
) -> object:
    """Poll until `condition()` is truthy; fail the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {message}")


def concurrently(call: Callable[[], object], copies: int = 2) -> list[object]:
    """Run `call` in `copies` threads released at once (each with its own DB connection); the results."""
    from django.db import connection

    barrier, outcomes = threading.Barrier(copies), []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def seat_points(matches) -> Counter[str]:
    """Every player's points (1 a win, a half a draw) recomputed from the matches' stored seat scores."""
    points: Counter[str] = Counter()
    for match in matches.prefetch_related("seats"):
        first, second = sorted(match.seats.all(), key=lambda s: s.seat)
        a, b = str(first.player_id), str(second.player_id)
        points[a] += 1.0 if first.score > second.score else 0.5 if first.score == second.score else 0.0
        points[b] += 1.0 if second.score > first.score else 0.5 if first.score == second.score else 0.0
    return points


class WorkerProcess:
    """`celery worker` as a child process sharing the test database (SQLite or PostgreSQL), so a test can
    SIGKILL it."""

    def __init__(self, media_root: Path, name: str, pool: str = "solo") -> None:
        env = {
            **os.environ,
            "DATABASE_URL": subprocess_database_url(),
            "ARENA_MEDIA_ROOT": str(media_root),
            "ARENA_LEASE_SECONDS": str(settings.ARENA_LEASE_SECONDS),
            "ARENA_HEARTBEAT_SECONDS": str(settings.ARENA_HEARTBEAT_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        self.log = media_root.parent / f"{name}.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "arena",
                "worker",
                "-P",
                pool,  # prefork (with -c 1) where a test needs time limits: solo does not enforce them
                "-c",
                "1",
                "-Q",
                "games,celery,training",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acks, like a machine losing power."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_process(transactional_db, media_root: Path) -> Iterator[Callable[[str], WorkerProcess]]:
    """Start worker processes on demand; all are stopped at the end of the test."""
    from arena.celery import app

    _broker_empty(app)
    started: list[WorkerProcess] = []

    def start(name: str = "w1", pool: str = "solo") -> WorkerProcess:
        worker = WorkerProcess(media_root, name, pool)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    _broker_empty(app)


def _broker_empty(app) -> None:
    """No message of an earlier test for these workers: the queues, and the messages a killed worker
    left unacknowledged (Redis hands those out again to the next worker that starts)."""
    import redis

    app.control.purge()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete("unacked", "unacked_index", "unacked_mutex")
    client.close()


@pytest.fixture
def evaluation_worker(transactional_db):
    """A real Celery worker in a thread of this process that consumes the evaluation queue only."""
    with thread_worker(["evaluation"], concurrency=1) as worker:
        yield worker
