"""Training time for the strength benchmarks: elapsed time minus the measurements taken in between.

Two clocks: ``wall`` (the default; what "within 30 minutes on 2 cores" means on an idle machine) and
``cpu`` (this process's CPU time, for a machine shared with other work: a single-threaded run then gets
the compute of one dedicated core however busy the machine is, which is less than the 2 cores the
targets allow, never more).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


class Clock:
    """Training time: elapsed time minus ``paused`` (the measurements between iterations or epochs)."""

    def __init__(self, minutes: float, kind: str = "wall") -> None:
        self.kind = kind
        self.now = CLOCKS[kind]
        self.start = self.now()
        self.paused = 0.0
        self.limit = minutes * 60

    def minutes(self) -> float:
        return (self.now() - self.start - self.paused) / 60

    def over(self) -> bool:
        return self.minutes() * 60 >= self.limit

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        """A measurement between iterations: its time does not count as training."""
        t0 = self.now()
        try:
            yield
        finally:
            self.paused += self.now() - t0

    def describe(self) -> str:
        return "wall-clock" if self.kind == "wall" else "CPU (this process's own time, the machine shared)"
