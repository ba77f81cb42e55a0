"""Stop what a dead Procfile process left behind, so honcho sees it end.

honcho takes a process as ended when its output closes. uvicorn's worker processes share the output of
the supervisor that started them and outlive it when it is killed (SIGKILL, the OOM killer): the web
entry would look alive forever, and ``make run`` would never stop the others. Each entry leads a
process group of its own, so when its leader is gone the rest of the group is sent SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

WATCH_INTERVAL_S = 0.5


def leader_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for honcho to reap it counts); Linux only."""
    try:
        # /proc/PID/stat: "pid (comm) STATE ...", comm may hold spaces, so split after the last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False  # no /proc (macOS): nothing is watched


def watch_leaders(processes: dict[str, dict[str, Any]], done: threading.Event) -> None:
    """Until `done`: SIGTERM the group of every honcho process whose leader exited while its output is open.

    `processes` is honcho's own table (`Manager._processes`): a `pid` once started, a `returncode`
    once honcho saw it end.
    """
    while not done.wait(WATCH_INTERVAL_S):
        for entry in list(processes.values()):
            pid = entry.get("pid")
            if pid and "returncode" not in entry and leader_gone(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
