"""External engines as supervised subprocesses: a line protocol with a timeout on every answer.

An ``EngineProcess`` belongs to the process that plays its games (a worker, the CLI) and serves one
game at a time. A hang (no answer within the timeout) or a crash kills it and raises
``EngineError``, so the match it was playing fails instead of the worker getting stuck; the next
command starts a fresh process. ``GtpClient`` speaks the Go Text Protocol (GNU Go) on top of it.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from marl.errors import EngineError

# Debian installs game engines (gnugo, stockfish) in /usr/games, which is not on every PATH.
_EXTRA_DIRS = ("/usr/games", "/usr/local/games")


def find_engine(name: str) -> str | None:
    """The path of the engine binary ``name`` (on PATH or in /usr/games), or ``None``."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _EXTRA_DIRS:
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def require_engine(name: str) -> str:
    """Like ``find_engine`` but raises ``EngineError`` saying how to install it."""
    path = find_engine(name)
    if path is None:
        raise EngineError(
            f"the {name} engine is not installed (not on PATH nor in /usr/games): "
            f"run `make install-engines` or `apt-get install {name}`"
        )
    return path


class EngineProcess:
    """One engine subprocess talking lines on stdin/stdout; started on first use, restarted after a death."""

    def __init__(self, argv: Sequence[str], *, name: str, timeout_s: float = 30.0) -> None:
        if not argv:
            raise EngineError("an engine needs a command line")
        self.argv = [str(a) for a in argv]
        self.name = name
        self.timeout_s = float(timeout_s)
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self.starts = 0  # how many processes this engine has started (restarts show here)

    @property
    def alive(self) -> bool:
        """Whether the current process is running."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The running process's id (tests kill it to check recovery)."""
        return self._proc.pid if self.alive else None  # type: ignore[union-attr]

    def start(self) -> None:
        """Start the process unless it runs already."""
        if self.alive:
            return
        self.kill()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError as err:
            raise EngineError(f"{self.name}: cannot start {self.argv[0]}: {err}") from None
        self._buffer = b""
        self.starts += 1

    def send(self, line: str) -> None:
        """Write one command line (starting the process if needed).

        A process that died since its last answer fails this command rather than being restarted
        silently: a new engine would not know the position the caller built up in the old one.
        """
        if self._proc is not None and self._proc.poll() is not None:
            self._die(f"died since its last answer (exit status {self._proc.returncode})")
        self.start()
        try:
            self._proc.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except OSError as err:  # BrokenPipeError: it died since the last answer
            self._die(f"died before reading {line!r} ({err})")

    def read_line(self, timeout_s: float | None = None) -> str:
        """The next output line, without its newline; ``EngineError`` on a hang or an exit."""
        limit = self.timeout_s if timeout_s is None else float(timeout_s)
        return self._read_line(time.monotonic() + limit, limit)

    def _read_line(self, deadline: float, limit: float) -> str:
        while b"\n" not in self._buffer:
            if self._proc is None:
                raise EngineError(f"{self.name}: not running")
            remaining = deadline - time.monotonic()
            fd = self._proc.stdout.fileno()  # type: ignore[union-attr]
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._die(f"gave no answer within {limit:g}s")
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self._proc.wait(timeout=5)
                self._die(f"exited with status {code}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def request(self, line: str, done: Callable[[str], bool], timeout_s: float | None = None) -> list[str]:
        """Send ``line`` and read lines until ``done(line)`` is true; every line read, the last included.

        ``timeout_s`` (default: the engine's) bounds the whole answer, not each line of it.
        """
        self.send(line)
        limit = self.timeout_s if timeout_s is None else float(timeout_s)
        deadline = time.monotonic() + limit
        lines = [self._read_line(deadline, limit)]
        while not done(lines[-1]):
            lines.append(self._read_line(deadline, limit))
        return lines

    def _die(self, why: str) -> None:
        self.kill()
        raise EngineError(f"{self.name} {why}; it was killed and will be restarted for the next game")

    def kill(self) -> None:
        """Stop the process now (no goodbye); the next command starts a new one."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # a process that ignores SIGKILL
            proc.wait(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def close(self, goodbye: str | None = None) -> None:
        """Ask the engine to quit (``goodbye``), then make sure it is gone."""
        if goodbye and self.alive:
            try:
                self.send(goodbye)
                self._proc.wait(timeout=1)  # type: ignore[union-attr]
            except (EngineError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def __del__(self) -> None:  # a forgotten engine must not outlive its owner
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to report to
            self.kill()


class GtpClient:
    """A Go Text Protocol engine: ``command("genmove b")`` returns ``"C4"``; ``?`` answers raise."""

    def __init__(self, argv: Sequence[str], *, name: str, timeout_s: float = 30.0) -> None:
        self.process = EngineProcess(argv, name=name, timeout_s=timeout_s)

    def command(self, line: str, timeout_s: float | None = None) -> str:
        """The engine's answer to one GTP command, without the ``=``; ``EngineError`` on ``?``."""
        # A GTP answer is "= text" or "? error", maybe on several lines, ended by an empty line.
        lines = self.process.request(line, lambda text: text == "", timeout_s)
        answer = "\n".join(lines[:-1]).strip()
        while answer and not answer.startswith(("=", "?")):  # stray output before the answer
            answer = answer.partition("\n")[2].strip()
        if answer.startswith("="):
            return answer[1:].strip()
        raise EngineError(f"{self.process.name} refused {line!r}: {answer[1:].strip() or answer!r}")

    def close(self) -> None:
        """Say ``quit`` and stop the process."""
        self.process.close("quit")
