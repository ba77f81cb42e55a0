"""A real ASGI server in a subprocess for tests that are about the server (uvicorn serving arena.asgi)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# As `make run` serves: Arena reads X-Forwarded-For itself (only from ARENA_TRUSTED_PROXIES), and no
# WebSocket frame is larger than the consumers' 4 KB bound needs.
UVICORN_FLAGS = ["--no-proxy-headers", "--ws-max-size", "65536"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def asgi_server(
    *, database: str, media_root: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Uvicorn serving `arena.asgi` on a free port against `database` (a SQLite file or a URL).

    Yields the base URL and the process; stops it on exit. Fails with the server's log if it does not
    answer within a minute.
    """
    port = free_port()
    url_db = database if "://" in database else f"sqlite:///{database}"
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "arena.settings",
        "DJANGO_DEBUG": "1",  # static files through WhiteNoise's finders, no collectstatic needed
        "DATABASE_URL": url_db,
        "ARENA_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "arena.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--lifespan", "off", *UVICORN_FLAGS]
    process = subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers; a 503 from an unhealthy dependency is the test's business
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the ASGI server did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
