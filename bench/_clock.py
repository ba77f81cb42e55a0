"""Training time for the strength benchmarks: wall time minus the measurements taken in between."""

from __future__ import annotations

import time


class Clock:
    """Training time: wall time minus ``paused`` (the measurements between iterations or epochs)."""

    def __init__(self, minutes: float) -> None:
        self.start = time.perf_counter()
        self.paused = 0.0
        self.limit = minutes * 60

    def minutes(self) -> float:
        return (time.perf_counter() - self.start - self.paused) / 60

    def over(self) -> bool:
        return self.minutes() * 60 >= self.limit
