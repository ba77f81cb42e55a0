"""A throwaway Arena for a benchmark: its own SQLite file, media folder and Redis database, migrated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup(name: str, redis_db: int) -> Path:
    """Point Django at a fresh temp DB/media/Redis DB (before settings load), migrate, return the dir."""
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix=f"arena-{name}-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'arena.sqlite3'}"
    os.environ["ARENA_MEDIA_ROOT"] = str(work / "media")
    os.environ["ARENA_DEMO"] = "0"
    os.environ["ARENA_LOG_LEVEL"] = "WARNING"
    os.environ["ARENA_CHANNEL_PREFIX"] = f"bench-{name}"
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    os.environ["REDIS_URL"] = f"{base}/{redis_db}"  # not the dev/test databases: no stray workers there
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
    (work / "media").mkdir()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return work


def random_checkpoints(user, game: str, count: int, hidden: list[int] | None = None):
    """`count` checkpoints of randomly initialised networks (distinct seeds) of one agent, first seat."""
    import torch
    from django.conf import settings

    from arena.models import Checkpoint
    from arena.services.agents import agent_create
    from marl.checkpoints import save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    spec = get_game(game)
    network = {"kind": "mlp", "hidden": hidden or [64, 64]}
    agent = agent_create(owner=user, game=game, name=f"bench-{game}", network=network)
    out = []
    for version in range(1, count + 1):
        torch.manual_seed(version)
        net = build_network(network, spec.obs_shape, spec.n_actions)
        path = save_checkpoint(
            Path(settings.MEDIA_ROOT) / "bench",
            f"v{version}",
            weights=net.state_dict(),
            state=None,
            meta={
                "game": game,
                "env_id": spec.env_id,
                "algorithm": "dqn",
                "network": network,
                "agent_id": spec.seats[0],
                "env_steps": 0,
            },
        )
        out.append(
            Checkpoint.objects.create(
                agent=agent,
                seat=spec.seats[0],
                version=version,
                sha256="",
                path=str(path.relative_to(settings.MEDIA_ROOT)),
            )
        )
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
