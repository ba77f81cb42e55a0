"""Keeping the garbage collector's full passes short in the long-lived server processes.

A web process holds Django, Channels and, once it has replied as an agent, torch and the loaded
networks: about 275,000 tracked objects, which a full (generation 2) collection walks in about 120 ms
on the development machine, stopping every request and WebSocket of the process meanwhile. That pause
was the whole tail of a human move's reply (p50 10 ms, p99 120–250 ms). Objects that live as long as
the process are moved out of the collector's reach (`gc.freeze`, the permanent generation), so a full
pass walks only what was made since: a few milliseconds. They are still freed by reference counting;
only a reference cycle among them would stay, and they are the process's modules and loaded agents.
"""

from __future__ import annotations

import gc
import os


def heap_freeze() -> None:
    """Move every object alive now to the permanent generation: call once the process has loaded
    what it keeps (the app at startup, an agent when it is first loaded). `ARENA_HEAP_FREEZE=0` turns
    it off (the benchmarks' side-by-side runs)."""
    if os.environ.get("ARENA_HEAP_FREEZE", "1") != "0":
        gc.freeze()
