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
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402
from _ws import WebSocket, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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

    port = free_port()
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
