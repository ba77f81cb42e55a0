"""Sending Celery tasks after a commit without letting a broker outage break the request.

The row is the truth, the message only a wake-up call: a run stays QUEUED and a match PENDING until a
worker claims it, and the reapers re-send those whose message never arrived. So when the broker is
down, publishing gives up after a short retry (a request must never hang on it) and logs; the work is
picked up when the broker is back. Nothing is sent if the transaction rolls back.

Tasks are named (`"arena.tasks.play_match"`), never imported, so services stay below the task module
that calls them.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from arena.celery import app

logger = logging.getLogger(__name__)

BROKER_DOWN = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)
# About a second in all: enough for a broker that blinks, short enough for an HTTP request.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.4, "interval_max": 0.6}


def _task(name: str) -> Any:
    """The registered task called `name`, with its own options (queue, retries, time limits)."""
    if name not in app.tasks:
        app.loader.import_default_modules()  # the web process has not imported the task module yet
    return app.tasks[name]


def task_send(name: str, *args: Any, **kwargs: Any) -> bool:
    """Publish the task `name` with these arguments now; False (logged) when the broker is unreachable."""
    task = _task(name)
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except BROKER_DOWN as exc:  # only "not sent": a programming error must still raise
        logger.warning(
            "could not send %s%r (%s: %s); the reaper re-sends it when the broker is back",
            task.name,
            args,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def task_send_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Publish the task `name` after the current transaction commits (at once outside one); never raises."""
    transaction.on_commit(functools.partial(task_send, name, *args, **kwargs))
