"""A body over its route's limit is refused with 413 before it is read, on a real server process."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import websockets

from tests.servers import asgi_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MB = 1024 * 1024
HOSTILE_BYTES = 200 * MB


@pytest.fixture
def server(transactional_db, tmp_path: Path) -> Iterator[tuple[str, int]]:
    with asgi_server(media_root=tmp_path / "media", log=tmp_path / "server.log") as (url, process):
        yield url, process.pid


def _upload(url: str, path: str, *, chunked: bool, total: int = HOSTILE_BYTES) -> tuple[int, int]:
    """Send a hostile body as fast as the server takes it; return (status, bytes sent before the answer)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{length}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n\r\n"
    )
    sock.sendall(head.encode())
    block = b"x" * (256 * 1024)
    frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
    sent, answer = 0, b""
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(frame)
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        sock.settimeout(10)
        answer = sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


async def _ping_rtts(ws_url: str, stop: threading.Event, rtts: list[float]) -> None:
    async with websockets.connect(ws_url, origin=ws_url.replace("ws://", "http://").split("/ws/")[0]) as ws:
        assert json.loads(await ws.recv())["type"] == "snapshot"
        while not stop.is_set():
            started = time.perf_counter()
            await ws.send('{"type": "ping"}')
            assert json.loads(await ws.recv())["type"] == "pong"
            rtts.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)


def _while_pinging(url: str, pid: int, action) -> tuple[object, list[float], int]:
    """Run `action()` while a socket pings the server; return its result, the RTTs and the RSS growth."""
    stop, rtts, peak = threading.Event(), [], [0]
    process = psutil.Process(pid)
    before = process.memory_info().rss

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    pinger = threading.Thread(
        target=asyncio.run, args=(_ping_rtts(url.replace("http", "ws") + "/ws/dashboard/", stop, rtts),)
    )
    sampler = threading.Thread(target=sample)
    pinger.start()
    sampler.start()
    time.sleep(0.5)  # a baseline of pings first
    try:
        result = action()
        time.sleep(0.3)
    finally:
        stop.set()
        pinger.join(10)
        sampler.join(10)
    return result, rtts, peak[0] - before


@pytest.mark.parametrize("path", ["/healthz", "/agents/1/import/", "/api/agents/1/checkpoints"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(server, path: str, chunked: bool) -> None:
    url, pid = server
    if chunked and path != "/healthz":
        pytest.skip("a streamed body to an import route is read up to that route's 130 MB limit")
    (status, sent), rtts, growth = _while_pinging(url, pid, lambda: _upload(url, path, chunked=chunked))
    assert status == 413
    assert sent < 8 * MB, "the server kept reading a body it had refused"
    assert growth < 50 * MB
    assert len(rtts) > 10 and max(rtts) < 0.5, f"pings stalled: max {max(rtts):.3f} s"


def test_a_streamed_upload_to_the_import_route_is_cut_at_its_limit_without_growing_memory(server) -> None:
    url, pid = server
    (status, _), rtts, growth = _while_pinging(
        url, pid, lambda: _upload(url, "/agents/1/import/", chunked=True)
    )
    assert status == 413
    assert growth < 50 * MB
    assert max(rtts) < 0.5, f"pings stalled: max {max(rtts):.3f} s"


def test_a_body_within_the_limit_reaches_the_app(server) -> None:
    import urllib.error
    import urllib.request

    url, _ = server
    request = urllib.request.Request(url + "/api/tokens", data=b'{"username": "x", "password": "y"}')
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code in (400, 401, 403)  # the API's own answer, not the size guard's


def test_a_content_length_that_is_not_a_number_is_a_bad_request(server) -> None:
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: -5\r\n\r\n".encode())
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] in (b"400",)
