"""launcher.run (``make run``): options, checks before the start, and a real arena brought up and stopped."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from launcher.procfile import procfile_commands
from launcher.redis_server import free_port, stop_embedded
from launcher.redis_urls import ping
from launcher.run import DEBUG_EXPOSED, display_host, is_loopback, main, parse_args, probe_project

ROOT = Path(__file__).resolve().parents[2]


def _launch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_option_and_the_variables_behind_them() -> None:
    out = _launch("--help")
    assert out.returncode == 0
    for word in (
        "--host",
        "--port",
        "--web-processes",
        "--concurrency",
        "--training-concurrency",
        "--grace",
        "--no-demo",
        "--embedded-redis",
        "--healthcheck",
    ):
        assert word in out.stdout
    for variable in (
        "$HOST",
        "$PORT",
        "$WEB_CONCURRENCY",
        "$CELERY_GAMES_CONCURRENCY",
        "$CELERY_TRAINING_CONCURRENCY",
    ):
        assert variable in out.stdout


def test_options_default_from_the_environment_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("CELERY_GAMES_CONCURRENCY", "4")
    monkeypatch.setenv("CELERY_TRAINING_CONCURRENCY", "5")
    args = parse_args([])
    assert (args.host, args.port, args.web_processes) == ("0.0.0.0", 8123, 3)
    assert (args.concurrency, args.training_concurrency) == (4, 5)
    assert parse_args(["--port", "9000"]).port == 9000


def test_a_port_that_is_not_a_number_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit, match="PORT='eighty' is not an integer"):
        parse_args([])


@pytest.mark.parametrize(
    ("host", "shown"),
    [("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("::1", "[::1]"), ("example.org", "example.org")],
)
def test_the_url_shows_a_host_a_browser_can_open(host: str, shown: str) -> None:
    assert display_host(host) == shown


@contextlib.contextmanager
def _http_server(status: int) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_passes_on_any_answer_below_500_and_fails_otherwise() -> None:
    with _http_server(404) as url:
        assert main(["--healthcheck", url]) == 0
    with _http_server(503) as url:
        assert main(["--healthcheck", url]) == 1
    assert main(["--healthcheck", url]) == 1  # nothing listens there any more


def test_a_busy_port_stops_the_start_with_a_hint() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _launch("--port", str(port), "--no-demo")
    assert out.returncode == 2
    assert f"PORT={port + 1} make run" in out.stdout


def test_a_redis_url_of_another_scheme_stops_the_start() -> None:
    out = _launch("--port", str(free_port("127.0.0.1")), env={"REDIS_URL": "http://127.0.0.1:6379/0"})
    assert out.returncode == 2
    assert "scheme 'http'" in out.stdout


# --------------------------------------------------------------------------- a real arena


class Arena:
    """``python -m launcher`` on a free port with its own database, static files and embedded Redis."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port("127.0.0.1")
        self.redis_dir = tmp_path / "redis"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env |= {
            "NO_COLOR": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'arena.sqlite3'}",
            "ARENA_MEDIA_ROOT": str(tmp_path / "media"),
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            "CELERY_BEAT_PIDFILE": str(tmp_path / "celerybeat.pid"),
        }
        argv = [
            "--port",
            str(self.port),
            "--no-demo",
            "--embedded-redis",
            "--redis-data-dir",
            str(self.redis_dir),
        ]
        # Its own session, like a terminal's foreground job: Ctrl-C is SIGINT to the whole group.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "launcher", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "Arena is up" not in self.output:
            assert self.process.poll() is None, f"the launcher exited early:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"not up after {timeout:.0f}s:\n{self.output[-3000:]}"
            time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        """The Procfile processes (each leads its own process group) and the embedded Redis."""
        started = dict(re.findall(r"([\w-]+) started \(pid=(\d+)\)", self.output))
        found = {name: int(started[name]) for name in procfile_commands()}
        found["redis"] = int((self.redis_dir / "redis.pid").read_text())
        return found

    def stop(self) -> None:
        """Whatever happened, leave nothing running."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in re.findall(r"started \(pid=(\d+)\)", self.output):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
        stop_embedded(self.redis_dir)


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def arena(tmp_path: Path) -> Iterator[Arena]:
    running = Arena(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_the_arena_comes_up_and_ctrl_c_stops_everything_with_its_redis(arena: Arena) -> None:
    arena.wait_until_up()
    assert f"Arena is up: http://127.0.0.1:{arena.port}/" in arena.output
    with urllib.request.urlopen(f"http://127.0.0.1:{arena.port}/healthz", timeout=10) as response:
        assert json.load(response)["status"] == "ok"
    pids = arena.pids()
    assert set(pids) == {"web", "worker-games", "worker-training", "beat", "redis"}
    redis_url = (arena.redis_dir / "redis.url").read_text().strip()

    os.killpg(arena.process.pid, signal.SIGINT)
    assert arena.process.wait(60) == 0
    assert "SIGINT received" in arena.output and "stopping the embedded Redis" in arena.output
    assert [name for name, pid in pids.items() if not _group_gone(pid)] == []
    assert not ping(redis_url, timeout=0.3)


@pytest.mark.slow
def test_a_process_that_dies_stops_the_others_and_the_exit_status_says_so(arena: Arena) -> None:
    arena.wait_until_up()
    pids = arena.pids()
    os.kill(pids["web"], signal.SIGKILL)
    assert arena.process.wait(60) == 1
    assert "a process stopped on its own" in arena.output
    assert [name for name, pid in pids.items() if not _group_gone(pid)] == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.7", False),
        ("arena.example", False),
    ],
)
def test_hosts_beyond_this_machine_are_told_apart(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_probe_reports_debug_so_the_launcher_can_warn_when_it_is_exposed() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "arena.settings"}
    assert probe_project({**env, "DJANGO_DEBUG": "1"})["debug"] is True
    assert probe_project({**env, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50})["debug"] is False
    assert "DJANGO_DEBUG is on" in DEBUG_EXPOSED.format(host="0.0.0.0")
