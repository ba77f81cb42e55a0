"""Celery beat that never builds a backlog: a periodic task is sent again only once its previous message
has left the queue.

A worker that is busy (training for hours, or stopped) would otherwise find one demo tick every 5 s
waiting for it, one league tick per interval, and so on without bound. Here beat marks each message it
sends (a Redis key per periodic task, through the cache) and skips the task while the mark is there;
the worker clears it when the message starts (`periodic_task_started`, on `task_prerun`). The mark
lives as long as the message may: the entry's expiry, which defaults to its period, so a message that
is lost or dropped as expired never blocks the schedule for longer than that. The scheduler reads its
entries from the database (django-celery-beat), as before; league ticks are entries there too.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.core.cache import cache
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger(__name__)

PERIODIC_HEADER = "periodic_task_name"  # set on every message by django-celery-beat's ModelEntry
DEFAULT_PERIOD_S = 3600.0  # a crontab or solar schedule has no fixed period


def queued_key(name: str) -> str:
    """The cache key marking periodic task `name`'s message as still queued."""
    return f"arena:beat:queued:{name}"


def entry_period(entry: ModelEntry) -> float:
    """Seconds between two runs of `entry` (an interval schedule's), else an hour."""
    run_every = getattr(entry.schedule, "run_every", None)
    if isinstance(run_every, datetime.timedelta) and run_every.total_seconds() > 0:
        return run_every.total_seconds()
    return DEFAULT_PERIOD_S


class QueueBoundScheduler(DatabaseScheduler):
    """The database scheduler, holding back a periodic task while its previous message is queued."""

    def apply_async(
        self, entry: ModelEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        """Send `entry` unless its previous message is still queued; None when it is skipped."""
        # Entries without an expiry of their own (league ticks) expire after one period.
        expires = entry.options.setdefault("expires", entry_period(entry))
        ttl = max(1, round(expires.total_seconds() if isinstance(expires, datetime.timedelta) else expires))
        try:
            marked = cache.add(queued_key(entry.name), 1, timeout=ttl)
        except Exception:  # Redis down: the send below fails and is logged as beat always did
            marked = True
        if not marked:
            logger.info("beat: %s is still queued; not sending another", entry.name)
            if advance:
                self.reserve(entry)
            return None
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)


def periodic_task_started(task: Any = None, **_: Any) -> None:
    """`task_prerun` handler: a periodic task's message left the queue, so beat may send the next."""
    request = getattr(task, "request", None)
    name = getattr(request, PERIODIC_HEADER, None) if request is not None else None
    if name:
        try:
            cache.delete(queued_key(name))
        except Exception:  # Redis down: the mark expires on its own
            logger.warning("beat: could not clear the queued mark of %s", name)
