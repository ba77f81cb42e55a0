"""Simulated people playing connect four against a checkpoint over real WebSockets.

    python bench/bench_play.py [--humans 50] [--seconds 10] [--think-ms 0 300]

Daphne serves `arena.asgi` on a free loopback port against a throwaway SQLite DB (migrated) and Redis
database 11. The opponent is an untrained MLP checkpoint (`hidden: [64, 64]`, random weights, saved with
`marl.checkpoints.save_checkpoint` through `bench/_arena_env.random_checkpoints`): serving cost does not
depend on how well it was trained. Each simulated person is a user with a session made directly in the
DB; it opens `ws/play/<id>/` with that session cookie and plays random legal columns, game after game,
for `--seconds` per phase. Latency is a person's move sent -> the agent's reply received (the play
service validates under the row lock, the agent replies, both are stored, and the events come back
through the channel layer). Phases: `--think-ms 0` is a closed loop (every person moves the instant the
reply lands: saturation); a few hundred ms is closer to real people. The server runs with
ARENA_MOVES_PER_SECOND raised so the closed loop measures the server, not the per-user rate limit.

The WebSocket client is a minimal RFC 6455 one on asyncio streams (neither `websockets` nor `aiohttp` is
in the venv): text frames, masking, ping/pong and close, which is all the protocol here needs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class WebSocket:
    """A WebSocket client over asyncio streams: enough of RFC 6455 for JSON text frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host: str, port: int, path: str, cookie: str) -> WebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace").splitlines()[0])
        return cls(reader, writer)

    async def send_json(self, message: dict) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))  # clients must mask
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def _frame(self) -> tuple[int, bool, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if second & 0x80 else b""
        data = await self.reader.readexactly(size)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return first & 0x0F, bool(first & 0x80), data

    async def recv_json(self) -> dict:
        parts: list[bytes] = []
        while True:
            opcode, fin, data = await self._frame()
            if opcode == 0x9:  # ping: answer with the same payload
                mask = os.urandom(4)
                self.writer.write(
                    bytes([0x8A, 0x80 | len(data)])
                    + mask
                    + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                )
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                raise ConnectionError(f"closed by the server ({code})")
            if opcode in (0x1, 0x0):
                parts.append(data)
                if fin:
                    return json.loads(b"".join(parts))

    async def close(self) -> None:
        mask = os.urandom(4)
        payload = struct.pack("!H", 1000)
        self.writer.write(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        try:
            await self.writer.drain()
        finally:
            self.writer.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(humans: int, games_each: int):
    """Users with sessions, one checkpoint, and the games (created now so the timed part is play only)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from arena.services.play import human_game_create

    User = get_user_model()
    owner = User.objects.create_user(username="bench-owner")
    checkpoint = _arena_env.random_checkpoints(owner, "connect_four", 1)[0]
    people = []
    for i in range(humans):
        user = User.objects.create_user(username=f"bench-human-{i}")
        client = Client()
        client.force_login(user)
        games = [
            human_game_create(
                user=user,
                game="connect_four",
                opponent=f"checkpoint:{checkpoint.pk}",
                seat="player_0",
                seed=i * 1000 + g,
            ).pk
            for g in range(games_each)
        ]
        people.append((f"sessionid={client.cookies['sessionid'].value}", games))
    return checkpoint, people


async def person(
    port: int, cookie: str, games: list[int], deadline: float, think: float, stats: dict
) -> None:
    rng = random.Random(cookie)
    while games and time.monotonic() < deadline:
        match_id = games.pop(0)  # shared across phases: a game left unfinished is not picked up again
        ws = await WebSocket.connect("127.0.0.1", port, f"/ws/play/{match_id}/", cookie)
        snapshot = await ws.recv_json()
        seat, state = snapshot["seat"], snapshot["match"]["state"]
        while state["to_move"] == seat and time.monotonic() < deadline:
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            sent = time.perf_counter()
            await ws.send_json(
                {"type": "move", "ply": len(state["moves"]), "move": rng.choice(state["legal_moves"])}
            )
            while True:
                message = await ws.recv_json()
                if message["type"] == "error":
                    raise RuntimeError(f"move refused: {message}")
                if message.get("event") == "finished":
                    state = message["state"]
                    stats["games"] += 1
                    break
                if message.get("event") == "move":
                    state = message["state"]
                    stats["moves"] += 1
                    if message["seat"] != seat:  # the agent's reply
                        stats["latency"].append(time.perf_counter() - sent)
                        break
        await ws.close()


async def phase(port: int, people, seconds: float, think: float) -> dict:
    stats = {"latency": [], "moves": 0, "games": 0}
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(person(port, cookie, games, deadline, think, stats) for cookie, games in people))
    stats["wall"] = time.perf_counter() - started
    return stats


def report(label: str, stats: dict) -> None:
    lat = sorted(stats["latency"])
    if not lat:
        print(f"{label}: no replies measured")
        return
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
    print(
        f"{label:<28} replies {len(lat):>6}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  max {lat[-1] * 1000:6.1f} ms"
        f"  moves/s (both sides) {stats['moves'] / stats['wall']:6.1f}  games {stats['games']}  "
        f"p99<50ms: {'yes' if p99 < 50 else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--think-ms", type=float, nargs="+", default=[0.0, 300.0])
    args = parser.parse_args()

    # Before settings load: enough open games per person for every phase, no rate limit in the way.
    os.environ["ARENA_MAX_OPEN_GAMES"] = "1000"
    os.environ["ARENA_MOVES_PER_SECOND"] = "100000"
    os.environ["DJANGO_DEBUG"] = "0"  # as deployed (no query log), over plain http on loopback
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + base64.b64encode(os.urandom(24)).decode())
    _arena_env.setup("play", redis_db=11)
    games_each = 200  # more than a phase can play: a person stops at the deadline
    checkpoint, people = prepare(args.humans, games_each)

    port = _free_port()
    log = open(Path(os.environ["ARENA_MEDIA_ROOT"]).parent / "daphne.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "arena.asgi:application"],
        cwd=ROOT,
        env={**os.environ, "ARENA_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"daphne did not start; see {log.name}")
                time.sleep(0.3)
        print(
            f"bench-play: {args.humans} people vs checkpoint {checkpoint.pk} (untrained MLP [64, 64]) at "
            f"connect four over ws://127.0.0.1:{port}, one daphne process, SQLite, Redis channel layer"
        )
        # Warm-up, not reported: the first move loads torch's kernels and the checkpoint into the server.
        asyncio.run(phase(port, people[:1], 2.0, 0.0))
        for think in args.think_ms:
            report(f"think {think:.0f} ms", asyncio.run(phase(port, people, args.seconds, think / 1000)))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    main()
