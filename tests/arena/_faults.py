"""Helpers for fault tests: a private redis-server that a test can stop and restart, and pointing this
process's Celery app and channel layer at it."""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from launcher.redis_server import find_redis_server, free_port


def _binary() -> str:
    found = shutil.which("redis-server")
    return found or str(find_redis_server())


class PrivateRedis:
    """A throwaway redis-server on a free loopback port; no persistence, so a restart loses everything."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port("127.0.0.1")
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.workdir)],
            stdout=(self.workdir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis on {self.port} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # like a crash: no save, connections cut
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)


@contextmanager
def app_on(url: str, settings) -> Iterator[None]:
    """Point this process's Celery app (publishing) and channel layer (spectators) at `url`."""
    from arena.celery import app

    def reset_pools() -> None:
        # Drop, do not close: kombu keeps pools per URL in a global registry that others still use.
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url
    app.conf.broker_url = url
    reset_pools()
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [url]
    settings.CHANNEL_LAYERS = layers
    try:
        yield
    finally:
        app.conf.broker_url = saved
        reset_pools()
