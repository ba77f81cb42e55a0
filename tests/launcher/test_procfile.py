"""The Procfile: web, the games and training workers and beat, each a command the shell fills in from the
environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from launcher.procfile import default_web_concurrency, procfile_commands, uvicorn_flags
from launcher.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = str(Path(sys.executable).parent)


def _argv(name: str, **env: str) -> list[str]:
    """The argv the shell builds for a Procfile entry, with only ``env`` (and PATH) set."""
    command = procfile_commands()[name]
    assert command.startswith("exec "), "an entry must exec its program, so signals reach it"
    script = "set -- " + command.removeprefix("exec ") + '; printf "%s\\n" "$@"'
    out = subprocess.run(
        ["sh", "-c", script],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split("\n")[:-1]


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True


def _after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_procfile_names_web_two_workers_and_beat() -> None:
    assert list(procfile_commands()) == ["web", "worker-games", "worker-training", "beat"]


def test_every_entry_runs_a_program_installed_beside_python() -> None:
    for name in procfile_commands():
        assert shutil.which(_argv(name)[0], path=VENV_BIN), name


def test_web_listens_on_loopback_port_8000_unless_host_and_port_say_otherwise() -> None:
    default = _argv("web")
    assert (_after(default, "--host"), _after(default, "--port")) == ("127.0.0.1", "8000")
    chosen = _argv("web", HOST="0.0.0.0", PORT="9001")
    assert (_after(chosen, "--host"), _after(chosen, "--port")) == ("0.0.0.0", "9001")


def test_web_runs_as_many_uvicorn_processes_as_web_concurrency_says() -> None:
    assert _after(_argv("web", WEB_CONCURRENCY="6"), "--workers") == "6"
    assert _after(_argv("web"), "--workers") == "2"


def test_web_concurrency_defaults_to_one_per_core_from_two_to_four() -> None:
    assert [default_web_concurrency(cores) for cores in (1, 2, 3, 4, 16)] == [2, 2, 3, 4, 4]


def test_the_serving_flags_are_the_web_entrys_own_without_host_port_or_workers() -> None:
    flags = uvicorn_flags()
    assert flags[:3] == ["--no-proxy-headers", "--ws-max-size", "65536"]
    assert "--no-access-log" in flags
    assert flags[flags.index("--timeout-graceful-shutdown") + 1] == "10"  # a stuck socket never holds a stop
    assert not {"--host", "--port", "--workers"} & set(flags)
    argv = _argv("web")
    assert argv[argv.index("--no-proxy-headers") :] == flags


def test_games_and_training_have_workers_of_their_own_with_the_concurrency_asked_for() -> None:
    games = _argv("worker-games", CELERY_GAMES_CONCURRENCY="5")
    assert (_after(games, "--concurrency"), _after(games, "-Q")) == ("5", "games,celery,evaluation")
    training = _argv("worker-training", CELERY_TRAINING_CONCURRENCY="3")
    assert (_after(training, "--concurrency"), _after(training, "-Q")) == ("3", "training")
    defaults = (
        _after(_argv("worker-games"), "--concurrency"),
        _after(_argv("worker-training"), "--concurrency"),
    )
    assert defaults == ("2", "1")


def test_beat_pidfile_is_under_var_run_unless_set_empty() -> None:
    assert _after(_argv("beat"), "--pidfile") == "var/run/celerybeat.pid"
    assert _after(_argv("beat", CELERY_BEAT_PIDFILE=""), "--pidfile") == ""


def test_an_unknown_entry_is_refused_with_the_known_ones() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "launcher.procfile", "nosuch"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "'web', 'worker-games', 'worker-training', 'beat'" in out.stderr


def test_a_container_entry_becomes_the_server_itself_and_stops_on_sigterm() -> None:
    port = free_port("127.0.0.1")
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "launcher.procfile", "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listens(port):
            assert server.poll() is None and time.monotonic() < deadline, "web did not come up"
            time.sleep(0.2)
        # No python or shell left in between: the container's stop signal reaches uvicorn directly.
        assert b"uvicorn" in Path(f"/proc/{server.pid}/cmdline").read_bytes()
        server.terminate()
        assert server.wait(15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
