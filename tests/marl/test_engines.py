"""Engine subprocesses: answers within a timeout, and a hung or crashed engine is killed and restarted."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from marl.engines import EngineProcess, GtpClient, find_engine, require_engine
from marl.errors import EngineError

GNUGO = find_engine("gnugo")
needs_gnugo = pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed (make install-engines)")

# A tiny line engine: echoes each line, hangs on "hang", exits with status 3 on "crash".
ECHO = (
    "import sys, time\n"
    "for line in sys.stdin:\n"
    "    line = line.strip()\n"
    "    if line == 'hang': time.sleep(3600)\n"
    "    if line == 'crash': sys.exit(3)\n"
    "    print('echo ' + line, flush=True)\n"
)


def _echo(timeout_s: float = 5.0) -> EngineProcess:
    return EngineProcess([sys.executable, "-c", ECHO], name="echo", timeout_s=timeout_s)


def _done(line: str) -> bool:
    return line.startswith("echo")


def test_an_engine_answers_each_request_from_one_process() -> None:
    engine = _echo()
    try:
        assert engine.request("one", _done) == ["echo one"]
        assert engine.request("two", _done) == ["echo two"]
        assert engine.starts == 1
    finally:
        engine.close()
    assert not engine.alive


def test_a_hung_engine_is_killed_at_its_timeout_and_the_next_request_gets_a_fresh_one() -> None:
    engine = _echo(timeout_s=0.5)
    try:
        engine.request("warm", _done)
        with pytest.raises(EngineError, match="no answer within 0.5s"):
            engine.request("hang", _done)
        assert not engine.alive
        assert engine.request("again", _done) == ["echo again"]
        assert engine.starts == 2
    finally:
        engine.close()


def test_an_engine_that_exits_raises_with_its_exit_status() -> None:
    engine = _echo()
    try:
        with pytest.raises(EngineError, match="exited with status 3"):
            engine.request("crash", _done)
        assert engine.request("after", _done) == ["echo after"]
    finally:
        engine.close()


def test_a_missing_engine_binary_is_refused_with_how_to_install_it() -> None:
    assert find_engine("no-such-engine-here") is None
    with pytest.raises(EngineError, match="make install-engines"):
        require_engine("no-such-engine-here")
    with pytest.raises(EngineError, match="cannot start"):
        EngineProcess(["/nonexistent/engine"], name="ghost").request("x", _done)


@needs_gnugo
def test_gnu_go_speaks_gtp_and_refuses_an_illegal_move_without_dying() -> None:
    gtp = GtpClient([GNUGO, "--mode", "gtp", "--level", "1"], name="gnugo")
    try:
        assert gtp.command("boardsize 9") == ""
        gtp.command("play b E5")
        with pytest.raises(EngineError, match="refused 'play w E5'"):
            gtp.command("play w E5")  # occupied
        assert gtp.process.alive
        assert gtp.command("genmove w") not in ("", "E5")
    finally:
        gtp.close()


@needs_gnugo
def test_gnu_go_killed_from_outside_fails_the_command_and_restarts_for_the_next() -> None:
    gtp = GtpClient([GNUGO, "--mode", "gtp"], name="gnugo")
    try:
        gtp.command("boardsize 9")
        os.kill(gtp.process.pid, signal.SIGKILL)  # type: ignore[arg-type]
        with pytest.raises(EngineError, match="gnugo"):
            gtp.command("genmove b")
        assert gtp.command("boardsize 9") == ""
        assert gtp.process.starts == 2
    finally:
        gtp.close()
