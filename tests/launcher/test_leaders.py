"""A Procfile process whose leader died while its children live on (uvicorn's workers after a killed
supervisor) is stopped, so honcho sees its output end."""

from __future__ import annotations

import subprocess
import threading

import pytest

from launcher.leaders import leader_gone, watch_leaders


@pytest.mark.timeout(30)
def test_the_children_a_dead_leader_left_behind_are_stopped() -> None:
    # The shell exits at once; its `sleep` keeps the output open, as orphaned web workers would.
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 300 & exit 0"], stdout=subprocess.PIPE, start_new_session=True
    )
    processes = {"web": {"pid": leader.pid}}
    done = threading.Event()
    watcher = threading.Thread(target=watch_leaders, args=(processes, done))
    watcher.start()
    try:
        assert leader.stdout.read() == b""  # returns only once the orphan is gone
    finally:
        done.set()
        watcher.join(5)
        leader.wait(5)
        leader.stdout.close()


def test_a_running_leader_is_left_alone() -> None:
    leader = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert not leader_gone(leader.pid)
    finally:
        leader.kill()
        leader.wait(5)
    assert leader_gone(leader.pid)  # reaped: no such process
