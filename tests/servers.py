"""Real servers in subprocesses for tests about them: uvicorn serving arena.asgi, as the Procfile serves it,
on the test database (SQLite file or PostgreSQL) that pytest-django created."""

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
from urllib.parse import quote

from launcher.procfile import uvicorn_flags

ROOT = Path(__file__).resolve().parents[1]


# The Procfile's own flags, so tests serve as `make run` does (see launcher.procfile.uvicorn_flags).
UVICORN_FLAGS = uvicorn_flags()


def subprocess_database_url() -> str:
    """`DATABASE_URL` of the database this test run uses (pytest-django's `test_...` one), for subprocesses."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    login = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{login}{db.get('HOST') or ''}{port}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def asgi_server(
    *, media_root: Path, log: Path, env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Uvicorn serving `arena.asgi` on a free port against the test database, in `workers` processes.

    Yields the base URL and the process; stops it on exit. Fails with the server's log if it does not
    answer within a minute.
    """
    port = free_port()
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "arena.settings",
        "DJANGO_DEBUG": "1",  # static files through WhiteNoise's finders, no collectstatic needed
        "DATABASE_URL": subprocess_database_url(),
        "ARENA_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "arena.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), *UVICORN_FLAGS]
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
