"""A throwaway Arena for a benchmark: its own database (a temp SQLite file, or a PostgreSQL database
created for the run and dropped after), media folder and Redis database, migrated; and the web server
`make run` starts (uvicorn in several processes, the Procfile's flags) and the workers."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from launcher.procfile import default_web_concurrency, uvicorn_flags  # noqa: E402


def default_web_processes() -> int:
    """What `make run` starts here: ``WEB_CONCURRENCY``, else the launcher's default from the cores."""
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    return int(raw) if raw else default_web_concurrency()


def add_options(parser: argparse.ArgumentParser) -> None:
    """`--web-processes` and `--database-url`, the same on every benchmark that serves the web app."""
    parser.add_argument(
        "--web-processes",
        type=int,
        default=default_web_processes(),
        help="uvicorn worker processes (default: what `make run` starts on this machine, "
        f"WEB_CONCURRENCY or 2 to 4 from the cores: {default_web_processes()})",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres: the run creates a "
        "database arena_bench_<pid> there (connecting to the URL's database) and drops it after; "
        "default ($BENCH_DATABASE_URL unset): a temp SQLite file",
    )


def database_label() -> str:
    """The database's name (SQLite or PostgreSQL), for the benchmark's header line."""
    return "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"


def load_note() -> str:
    """The machine's load average now: the figures of a shared machine mean little without it."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _postgres_database(server_url: str) -> str:
    """Create `arena_bench_<pid>` on the server `server_url` names; drop it at exit. Returns its URL."""
    import psycopg

    name = f"arena_bench_{os.getpid()}"
    parts = urlsplit(server_url)
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path=parts.path or "/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()  # this process's; the servers and workers are stopped by now
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    return urlunsplit(parts._replace(scheme="postgres", path=f"/{name}"))


def setup(name: str, redis_db: int, database_url: str = "") -> Path:
    """Point Django at a fresh DB/media/Redis DB (before settings load), migrate, return the temp dir.

    The DB is a temp SQLite file, or with `database_url` (a PostgreSQL server) a database of its own.
    Everything reads it from the environment, so the servers, workers and helpers started later open it.
    """
    work = Path(tempfile.mkdtemp(prefix=f"arena-{name}-"))
    if database_url and not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"--database-url must be a postgres:// URL, not {database_url!r}")
    os.environ["DATABASE_URL"] = (
        _postgres_database(database_url) if database_url else f"sqlite:///{work / 'arena.sqlite3'}"
    )
    os.environ["ARENA_MEDIA_ROOT"] = str(work / "media")
    os.environ["ARENA_DEMO"] = "0"
    os.environ["ARENA_LOG_LEVEL"] = "WARNING"
    os.environ["ARENA_CHANNEL_PREFIX"] = f"bench-{name}"
    # Every simulated client comes from 127.0.0.1: the per-address socket cap is not what is measured.
    os.environ["ARENA_WS_PER_IP"] = "1000000"
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    os.environ["REDIS_URL"] = f"{base}/{redis_db}"  # not the dev/test databases: no stray workers there
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
    (work / "media").mkdir()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return work


def random_checkpoints(
    user,
    game: str,
    count: int,
    hidden: list[int] | None = None,
    seat: str | None = None,
    every_seat: bool = False,
):
    """`count` checkpoints of randomly initialised networks (distinct seeds) of one agent, learned for
    `seat` (default the first): a checkpoint only plays the seat it learned. With `every_seat`, each
    version also gets a checkpoint for every other seat (the same weights), as a tournament entrant
    needs; the first seat's rows are returned."""
    import torch
    from django.conf import settings

    from arena.models import Checkpoint
    from arena.services.agents import agent_create
    from marl.checkpoints import save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    spec = get_game(game)
    seat = seat or spec.seats[0]
    network = {"kind": "mlp", "hidden": hidden or [64, 64]}
    agent = agent_create(owner=user, game=game, name=f"bench-{game}", network=network)
    out = []
    for version in range(1, count + 1):
        torch.manual_seed(version)
        net = build_network(network, spec.obs_shape, spec.n_actions)
        for i, row_seat in enumerate([seat] + [s for s in spec.seats if s != seat] if every_seat else [seat]):
            path = save_checkpoint(
                Path(settings.MEDIA_ROOT) / "bench",
                f"v{version}" if i == 0 else f"v{version}-{row_seat}",
                weights=net.state_dict(),
                state=None,
                meta={
                    "game": game,
                    "env_id": spec.env_id,
                    "algorithm": "dqn",
                    "network": network,
                    "agent_id": row_seat,
                    "env_steps": 0,
                },
            )
            row = Checkpoint.objects.create(
                agent=agent,
                seat=row_seat,
                version=version,
                sha256="",
                path=str(path.relative_to(settings.MEDIA_ROOT)),
            )
            if i == 0:
                out.append(row)
    return out


def start_worker(
    *,
    name: str,
    concurrency: int = 1,
    queues: str = "celery,training",
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """A real `celery worker` (prefork, as `make run` starts it) for the throwaway Arena, in its own
    session so `stop_worker` takes its pool children with it. Output goes to `log`, else nowhere."""
    out = log.open("w") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "arena", "worker", "-P", "prefork", "-c", str(concurrency)]
        + ["-Q", queues, "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM the worker's process group (warm shutdown), SIGKILL if it does not go within `grace`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def start_web(port: int, workers: int, log: Path) -> subprocess.Popen:
    """Uvicorn serving `arena.asgi` on loopback in `workers` processes, with the Procfile's flags (what
    `make run` starts), in its own session so `stop_web` takes its worker processes with it."""
    command = [sys.executable, "-m", "uvicorn", "arena.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), *uvicorn_flags()]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_web(port: int, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Until `/healthz` answers (any status), or exit with the server's log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers; a 503 from a dependency is not the web server's start-up
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"the web server on :{port} did not come up (log {log}):\n{tail}")
        time.sleep(0.2)


def web_processes(process: subprocess.Popen) -> list:
    """The server's processes as psutil objects: uvicorn's supervisor and its workers (one if -w 1)."""
    import psutil

    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def web_workers(process: subprocess.Popen) -> list:
    """The processes that serve requests: uvicorn's workers, or the server itself when it runs one."""
    procs = web_processes(process)
    workers = [proc for proc in procs[1:] if "resource_tracker" not in " ".join(proc.cmdline())]
    return workers or procs[:1]


def maps_library(proc, name: str) -> bool:
    """Whether process `proc` has a shared library whose path contains `name` loaded (Linux)."""
    try:
        return name in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


def stop_web(process: subprocess.Popen, grace: float = 20.0) -> bool:
    """SIGTERM uvicorn (it closes its sockets and stops its workers); SIGKILL the whole group after
    `grace`. True when it had to be killed: a uvicorn worker can wait without end for an ASGI task that
    does not finish after its socket closed, as the Procfile sets no graceful-shutdown timeout."""
    if process.poll() is not None:
        return False
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    killed = False
    for proc in [] if process.poll() is not None else web_processes(process):
        with contextlib.suppress(Exception):
            proc.kill()
            killed = True
    with contextlib.suppress(ProcessLookupError):  # workers a supervisor that exited left behind
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)
    return killed
