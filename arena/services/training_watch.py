"""Watching a run train: the positions of its sampled games, published to the run's group at a pace a
person can follow.

`marl.train` hands a whole game to `TrainingGameStream.offer` and goes straight on training; a thread
of the stream's own publishes one position every `1 / moves_per_second` seconds, then holds the end
for a moment. A game that arrives while another is on the board waits in a single slot (a newer one
replaces it), so nothing piles up and training never waits on Redis or on a viewer.
"""

from __future__ import annotations

import threading
from typing import Any

from arena import live

END_PAUSE_S = 1.5  # how long a finished game stays on the board before the next one starts
CLOSE_TIMEOUT_S = 5.0


class TrainingGameStream:
    """One run's sampled games, paced onto `run-<id>`; `close()` stops it where it is."""

    def __init__(self, run_id: int, *, moves_per_second: float, end_pause_s: float = END_PAUSE_S) -> None:
        self.run_id = run_id
        self.step_s = 1.0 / moves_per_second
        self.end_pause_s = end_pause_s
        self._cond = threading.Condition()
        self._pending: dict[str, Any] | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def offer(self, game: dict[str, Any]) -> None:
        """Queue a sampled game (replacing one still waiting); returns at once."""
        with self._cond:
            if self._closed:
                return
            self._pending = game
            if self._thread is None:  # started by the first game: a run that fails early needs none
                self._thread = threading.Thread(
                    target=self._run, name=f"run-{self.run_id}-games", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Stop publishing (the game on the board stays where it is) and wait for the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(CLOSE_TIMEOUT_S)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                game, self._pending = self._pending, None
            if not self._show(game):
                return

    def _show(self, game: dict[str, Any]) -> bool:
        """Publish the game position by position; False once the stream is closed."""
        group = live.run_group(self.run_id)
        for ply in range(len(game["states"])):
            live.publish(group, live.training_game_message(run_id=self.run_id, game=game, ply=ply))
            if self._closing_within(self.step_s):
                return False
        return not self._closing_within(self.end_pause_s)

    def _closing_within(self, seconds: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._closed, timeout=seconds)
