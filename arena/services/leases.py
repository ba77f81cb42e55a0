"""Leases for long jobs (a training run, a league tick): one worker at a time, found dead by time.

A row holds its lease in `lease_owner` plus a time column a heartbeat renews. A worker claims the
lease with one conditional UPDATE that only matches while no one else holds it alive, so of two
copies of a redelivered task exactly one wins; the other exits. A copy that finds a dead lease takes
it over and resumes. While the job runs, a heartbeat thread renews the lease; when the row no longer
names this worker (reaped, or taken over) the heartbeat marks the lease lost and stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

logger = logging.getLogger(__name__)


def lease_claim(rows: QuerySet, *, worker: str, alive: Q, **changes: Any) -> bool:
    """Take the lease of `rows` for `worker` unless someone else holds it alive (`alive` says when a
    lease is alive); `changes` are written in the same UPDATE. True if this worker holds it now."""
    held_elsewhere = alive & ~Q(lease_owner__in=("", worker))
    return rows.exclude(held_elsewhere).update(lease_owner=worker, **changes) > 0


def lease_release(rows: QuerySet, *, worker: str, **changes: Any) -> bool:
    """Give the lease back with the job's final `changes`; False if it was no longer this worker's."""
    return rows.filter(lease_owner=worker).update(lease_owner="", **changes) > 0


class Heartbeat(threading.Thread):
    """Renews a lease every ARENA_HEARTBEAT_SECONDS while a job runs; `lost` once it is not ours."""

    def __init__(self, rows: QuerySet, *, worker: str, renewal: Callable[[], dict[str, Any]]) -> None:
        super().__init__(daemon=True, name=f"lease-{rows.model.__name__.lower()}-{worker}"[:60])
        self.rows, self.worker, self.renewal = rows.filter(lease_owner=worker), worker, renewal
        self.stopped = threading.Event()
        self.lost = False

    def beat(self) -> bool:
        """Renew once; False when the lease went to someone else."""
        self.lost = self.lost or self.rows.update(**self.renewal()) == 0
        return not self.lost

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.ARENA_HEARTBEAT_SECONDS):
                try:
                    if not self.beat():
                        return
                except Exception:  # a DB blip must not end the heartbeat; the next beat retries
                    logger.warning("lease renewal of %s failed", self.name, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


@contextmanager
def lease_kept(rows: QuerySet, *, worker: str, renewal: Callable[[], dict[str, Any]]) -> Iterator[Heartbeat]:
    """Keep the lease alive for the duration of the block."""
    heartbeat = Heartbeat(rows, worker=worker, renewal=renewal)
    heartbeat.start()
    try:
        yield heartbeat
    finally:
        heartbeat.stop()
