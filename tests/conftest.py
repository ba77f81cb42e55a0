"""Session-wide test setup: a live Redis on a dedicated database, flushed at the start.

``REDIS_URL`` is normally set by ``tests/redis_plugin.py`` before Django settings are imported (see
why there). Calling ``setup_test_redis`` again here is a no-op then, and covers runs that disable that
plugin (``-p no:tests.redis_plugin -p no:django``). Django database fixtures live in
``tests/arena/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
import redis

from launcher.redis_urls import redact
from launcher.testing import setup_test_redis, teardown_test_redis

setup_test_redis(os.environ)


def pytest_unconfigure(config: pytest.Config) -> None:
    teardown_test_redis()  # idempotent; the plugin's hook usually did it already


@pytest.fixture(scope="session", autouse=True)
def redis_url() -> Iterator[str]:
    """The test Redis URL (also in ``os.environ["REDIS_URL"]``), its database emptied at session start."""
    url = os.environ["REDIS_URL"]
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.exit(f"the test Redis at {redact(url)} does not answer: {exc}", returncode=3)
    client.flushdb()  # this database only: the test DB number is reserved for tests
    client.close()
    yield url


@contextlib.contextmanager
def thread_worker(queues: list[str], concurrency: int) -> Iterator[object]:
    """A real Celery worker in a thread of this process, consuming `queues` from the real Redis broker;
    the queues are purged before and after."""
    from celery.contrib.testing.worker import start_worker

    from arena.celery import app

    app.control.purge()
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=queues,
        shutdown_timeout=30,
    ) as worker:
        yield worker
    app.control.purge()


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[object]:
    """A worker for games, training and the periodic tasks (the browser tests' server sends it tasks
    too: it rates a person's finished games)."""
    with thread_worker(["games", "celery", "training"], concurrency=2) as worker:
        yield worker
