"""launcher.redis_server and launcher.redis_urls: URL checks and a real embedded redis-server started, pinged, reused and stopped.

No Django here: these run under `pytest -p no:django` as well.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from launcher.redis_server import (
    EmbeddedRedis,
    find_redis_server,
    read_running,
    resolve_redis,
    resolve_redis_url,
    stop_embedded,
)
from launcher.redis_urls import ping, redact, validate_redis_url, with_db


def _dead_url() -> str:
    """A URL on a 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://:pw@cache.example:6380/2",
        "unix:///run/redis.sock?db=1",
        " redis://h/0 ",
    ],
)
def test_valid_urls_pass(url: str) -> None:
    assert validate_redis_url(url) == url.strip()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://", "unix://", "redis://h:notaport/0"]
)
def test_bad_urls_fail_loudly(url: str) -> None:
    with pytest.raises(ValueError, match="REDIS_URL"):
        validate_redis_url(url)


def test_bad_env_url_is_rejected_before_any_probe() -> None:
    with pytest.raises(ValueError, match="scheme 'amqp'"):
        resolve_redis({"REDIS_URL": "amqp://guest@localhost//"}, probe_url=_dead_url())


def test_env_url_wins_without_probing() -> None:
    resolved = resolve_redis({"REDIS_URL": "redis://nowhere.invalid:6379/3"}, probe_url=_dead_url())
    assert (resolved.source, resolved.url, resolved.server) == ("env", "redis://nowhere.invalid:6379/3", None)


def test_redact_and_with_db() -> None:
    assert redact("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"
    assert with_db("redis://h:6379/0", 15) == "redis://h:6379/15"
    assert with_db("redis://h:6379", 15) == "redis://h:6379/15"
    assert with_db("unix:///tmp/r.sock?db=2&x=1", 15) == "unix:///tmp/r.sock?x=1&db=15"


def test_binary_is_bundled() -> None:
    path = find_redis_server()
    assert path.name == "redis-server" and os.access(path, os.X_OK)


def test_dead_port_does_not_answer() -> None:
    assert ping(_dead_url(), timeout=0.3) is False


def test_embedded_server_starts_answers_is_reused_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    resolved = resolve_redis({}, probe_url=_dead_url(), data_dir=data_dir)
    try:
        assert resolved.source == "embedded"
        assert resolved.url.startswith("redis://127.0.0.1:")
        server = resolved.server
        assert server is not None and server.owned
        client = redis.Redis.from_url(resolved.url)
        assert client.ping() is True
        client.set("arena:test", "1")
        assert (data_dir / "redis.pid").read_text().strip() == str(server.pid)
        assert read_running(data_dir) == (server.pid, resolved.url)

        # A second start in the same data dir reuses the live server and does not own it.
        second = EmbeddedRedis(data_dir)
        assert second.start() == resolved.url
        assert (second.owned, second.pid) == (False, server.pid)
        second.stop()  # not the owner: leaves it running
        assert ping(resolved.url)

        # With that server answering, resolution finds it as a "local" one.
        local = resolve_redis({}, probe_url=resolved.url, data_dir=tmp_path / "unused")
        assert (local.source, local.server) == ("local", None)
        client.close()
    finally:
        resolved.stop()
    assert not ping(resolved.url, timeout=0.3)
    assert not (data_dir / "redis.pid").exists()
    assert read_running(data_dir) is None


def test_stale_pidfile_is_replaced(embedded: EmbeddedRedis) -> None:
    embedded.data_dir.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (embedded.data_dir / "redis.pid").write_text(f"{gone.pid}\n")
    (embedded.data_dir / "redis.url").write_text(f"{_dead_url()}\n")
    url = embedded.start()
    assert embedded.owned and ping(url)


def test_context_manager_and_stop_by_pidfile(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "a") as server:
        first_url = server.url
        assert first_url is not None and ping(first_url)
    assert server.url is None and not ping(first_url, timeout=0.3)

    # `python -m launcher.redis_server stop` stops a server another process started.
    other = EmbeddedRedis(tmp_path / "b")
    url = other.start()
    assert stop_embedded(tmp_path / "b") is True
    assert not ping(url, timeout=0.3)
    assert stop_embedded(tmp_path / "b") is False


def test_resolve_redis_url_returns_a_live_url(tmp_path: Path) -> None:
    url = resolve_redis_url({}, probe_url=_dead_url(), data_dir=tmp_path / "redis")
    try:
        assert ping(url)
    finally:
        stop_embedded(tmp_path / "redis")
