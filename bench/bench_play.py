"""Simulated people playing connect four against a checkpoint over real WebSockets.

    python bench/bench_play.py [--humans 50] [--seconds 10] [--think-ms 0 1000] [--compare-web 1,2]
    python bench/bench_play.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Uvicorn serves `arena.asgi` as `make run` does (the Procfile's flags, `--web-processes` processes,
default what `make run` starts here) on a free loopback port against a throwaway database (a temp
SQLite file, or a PostgreSQL database made for the run with `--database-url`) and Redis database 11.
`--compare-web 1,2` runs every phase once per web-process count, each on a fresh server, and prints
them side by side. The opponent is an untrained MLP checkpoint (`hidden: [64, 64]`, random weights, saved with
`marl.checkpoints.save_checkpoint` through `bench/_arena_env.random_checkpoints`): serving cost does not
depend on how well it was trained. Each simulated person is a user with a session made directly in the
DB; it opens `ws/play/<id>/` with that session cookie and plays random legal columns, game after game,
for `--seconds` per phase. Latency is a person's move sent -> the agent's reply received (the play
service validates under the row lock, the agent replies, both are stored, and the events come back
through the channel layer). Phases: `--think-ms 0` is a closed loop (every person moves the instant the
reply lands: saturation, reported as human moves/s); 1,000 ms (0.5 to 1.5 s) is the issue's person.
A games worker (one process, the `games` queue) runs beside the server, as in `make run`: it rates each
finished game, and its CPU per rated game is printed with the web processes' per move.
The server runs with ARENA_MOVES_PER_SECOND raised so the closed loop measures the server, not the
per-user rate limit. Each phase also prints the web processes' CPU time per human move (connects,
snapshots and the game ends included): on a shared machine latency and throughput wait for the
neighbours' share of the cores, while that figure barely moves.

The WebSocket client is a minimal RFC 6455 one on asyncio streams (neither `websockets` nor `aiohttp` is
in the venv): text frames, masking, ping/pong and close, which is all the protocol here needs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psutil

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
    # The agent replies in the second seat: the person moves first, every move of theirs is timed.
    checkpoint = _arena_env.random_checkpoints(owner, "connect_four", 1, seat="player_1")[0]
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


STALL_S = 30.0  # a reply this late is counted as stalled, and the person goes on to the next game
REPLY_WAIT_S = 5.0  # the play page's wait for an answer before it fetches the game (a lost message)


async def person(
    port: int, cookie: str, games: list[int], deadline: float, think: float, stats: dict
) -> None:
    rng = random.Random(cookie)
    while games and time.monotonic() < deadline:
        match_id = games.pop(0)  # shared across phases: a game left unfinished is not picked up again
        try:
            ws = await asyncio.wait_for(
                WebSocket.connect("127.0.0.1", port, f"/ws/play/{match_id}/", cookie), STALL_S
            )
        except TimeoutError:
            stats["stalled"] = stats.get("stalled", 0) + 1
            continue
        try:
            rating_pending = await play_game(ws, rng, deadline, think, stats)
        except TimeoutError:
            stats["stalled"] = stats.get("stalled", 0) + 1
            rating_pending = False
        if rating_pending:  # as the play page does: the socket waits for the rating, the person does not
            stats["closing"].append(asyncio.create_task(_rating_then_close(ws, stats)))
        else:
            await ws.close()
    if not games and time.monotonic() < deadline:
        stats["ran_out"] = stats.get("ran_out", 0) + 1  # stopped early: the throughput is a floor


async def play_game(ws: WebSocket, rng: random.Random, deadline: float, think: float, stats: dict) -> bool:
    """Random legal moves until the game ends or the deadline passes; each reply timed. True when the
    game ended rated: its `rating` message is still to come."""
    snapshot = await asyncio.wait_for(ws.recv_json(), STALL_S)
    seat, state = snapshot["seat"], snapshot["match"]["state"]
    while state["to_move"] == seat and time.monotonic() < deadline:
        if think:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        sent = time.perf_counter()
        stats["human_moves"] += 1
        await ws.send_json(
            {"type": "move", "ply": len(state["moves"]), "move": rng.choice(state["legal_moves"])}
        )
        waited = 0.0
        while True:
            try:
                message = await asyncio.wait_for(ws.recv_json(), REPLY_WAIT_S)
            except TimeoutError:  # as the play page does: no answer for a while, fetch the game
                waited += REPLY_WAIT_S
                if waited >= STALL_S:
                    raise
                stats["resyncs"] = stats.get("resyncs", 0) + 1
                await ws.send_json({"type": "resync"})
                continue
            if message["type"] == "snapshot":  # the resync's answer: the game as it stands
                state = message["match"]["state"]
                if message["match"]["status"] != "running":
                    stats["games"] += 1
                    return False
                if state["to_move"] == seat:
                    stats["latency"].append(time.perf_counter() - sent)
                    break
                continue
            if message["type"] == "error":
                raise RuntimeError(f"move refused: {message}")
            if message.get("event") == "finished":
                state = message["state"]
                stats["games"] += 1
                return bool(message.get("rating_pending"))
            if message.get("event") == "move":
                state = message["state"]
                stats["moves"] += 1
                if message["seat"] != seat:  # the agent's reply
                    stats["latency"].append(time.perf_counter() - sent)
                    break
    return False


async def _rating_then_close(ws: WebSocket, stats: dict) -> None:
    """Wait (a while at most) for the `rating` message the games worker sends after a rated game, then
    close the socket; counts the ratings that came and how long after the game's end."""
    ended = time.perf_counter()
    try:
        while (await asyncio.wait_for(ws.recv_json(), RATING_WAIT_S)).get("type") != "rating":
            pass
        stats["rating_s"].append(time.perf_counter() - ended)
    except (TimeoutError, ConnectionError):
        stats["ratings_missed"] = stats.get("ratings_missed", 0) + 1
    await ws.close()


RATING_WAIT_S = 30.0


def phase_stats() -> dict:
    """A phase's counters; `closing` holds the sockets still waiting for their game's rating."""
    return {"latency": [], "moves": 0, "human_moves": 0, "games": 0, "rating_s": [], "closing": []}


async def phase(port: int, people, seconds: float, think: float) -> dict:
    stats = phase_stats()
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(person(port, cookie, games, deadline, think, stats) for cookie, games in people))
    stats["wall"] = time.perf_counter() - started
    await asyncio.gather(*stats["closing"])  # the ratings still on their way
    return stats


def summary(stats: dict) -> dict:
    """Reply latency percentiles (ms) and throughputs of one phase."""
    lat = sorted(stats["latency"])
    at = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: float("nan"))
    return {
        "replies": len(lat),
        "p50": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99": at(0.99),
        "max": at(1.0),
        "human_per_s": stats["human_moves"] / stats["wall"],
        "moves_per_s": stats["moves"] / stats["wall"],
        "games": stats["games"],
        "ran_out": stats.get("ran_out", 0),
        "stalled": stats.get("stalled", 0),
        "resyncs": stats.get("resyncs", 0),
        "ratings": len(stats["rating_s"]),
        "rating_p50": statistics.median(stats["rating_s"]) * 1000 if stats["rating_s"] else float("nan"),
        "ratings_missed": stats.get("ratings_missed", 0),
    }


def report(label: str, row: dict) -> None:
    print(
        f"  {label:<34} replies {row['replies']:>6}  p50 {row['p50']:6.1f} ms  p99 {row['p99']:7.1f} ms  "
        f"max {row['max']:7.1f} ms  human moves/s {row['human_per_s']:6.1f}  games {row['games']}  "
        f"web CPU {row['cpu_ms']:5.1f} ms/human move  "
        f"ratings {row['ratings']} (p50 {row['rating_p50']:.0f} ms after the end, {row['ratings_missed']} missed; "
        f"games worker {row['worker_ms']:.0f} ms CPU each)  "
        f"[{row['load']}]"
        + (f"  ({row['ran_out']} people ran out of games: raise --games-each)" if row["ran_out"] else "")
        + (f"  ({row['stalled']} replies stalled over {STALL_S:g} s)" if row["stalled"] else "")
        + (
            f"  ({row['resyncs']} resyncs after {REPLY_WAIT_S:g} s without an answer)"
            if row["resyncs"]
            else ""
        )
    )


def warm_up(port: int, people, server) -> None:
    """Play until every web process has served a reply (its first loads torch and the checkpoint: seconds,
    not a figure of this benchmark), then a little more. A socket lands on whichever process the kernel
    gives it, so rounds go on until each worker process has torch mapped, at most a minute."""
    crowd = people[: min(len(people), 4 * len(_arena_env.web_workers(server)))]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        asyncio.run(phase(port, crowd, 2.0, 0.0))
        if all(_arena_env.maps_library(proc, "libtorch") for proc in _arena_env.web_workers(server)):
            break
    asyncio.run(phase(port, crowd, 2.0, 0.0))


def cpu_seconds(procs) -> float:
    """CPU seconds `procs` (psutil processes) have used so far; a process that has gone counts 0."""
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def web_cpu_seconds(server) -> float:
    """CPU seconds the web processes have used so far: per human move, the one figure a shared
    machine's load does not change much (latency and throughput wait for the neighbours' share)."""
    return cpu_seconds(_arena_env.web_workers(server))


def worker_cpu_seconds(worker) -> float:
    """CPU seconds the games worker (its main process and pool children) has used so far."""
    try:
        root = psutil.Process(worker.pid)
        return cpu_seconds([root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0.0


def serve_and_play(args: argparse.Namespace, workers: int, people, work: Path) -> dict[float, dict]:
    """A fresh server in `workers` processes and a games worker (it rates the finished games, as in
    `make run`), warmed up; every think phase on them."""
    port = free_port()
    log = work / f"web-{workers}.log"
    server = _arena_env.start_web(port, workers, log)
    games_worker = _arena_env.start_worker(
        name=f"bench-play-{workers}", concurrency=1, queues="games", log=work / f"worker-{workers}.log"
    )
    try:
        _arena_env.wait_for_web(port, server, log)
        warm_up(port, people, server)
        rows = {}
        for think in args.think_ms:
            before, worker_before = web_cpu_seconds(server), worker_cpu_seconds(games_worker)
            stats = asyncio.run(phase(port, people, args.seconds, think / 1000))
            rows[think] = summary(stats)
            rows[think]["cpu_ms"] = 1000 * (web_cpu_seconds(server) - before) / max(1, stats["human_moves"])
            rows[think]["worker_ms"] = (
                1000 * (worker_cpu_seconds(games_worker) - worker_before) / max(1, rows[think]["ratings"])
            )
            rows[think]["load"] = _arena_env.load_note()
            report(f"{workers} web process(es), think {think:.0f} ms", rows[think])
        return rows
    finally:
        _arena_env.stop_web(server)
        _arena_env.stop_worker(games_worker)


def side_by_side(args: argparse.Namespace, results: dict[int, dict[float, dict]]) -> None:
    counts = list(results)
    print("\nside by side (" + ", ".join(f"{n} web process(es)" for n in counts) + "):")
    for think in args.think_ms:
        rows = [results[n][think] for n in counts]
        if think == 0:
            cells = "  ".join(f"{row['human_per_s']:7.1f}" for row in rows)
            ratio = (
                rows[-1]["human_per_s"] / rows[0]["human_per_s"] if rows[0]["human_per_s"] else float("nan")
            )
            print(f"  saturation (think 0), human moves/s: {cells}   ratio last/first {ratio:.2f}x")
            cpu = "  ".join(f"{row['cpu_ms']:7.1f}" for row in rows)
            print(f"  saturation, web CPU ms per human move: {cpu}")
        else:
            cells = "  ".join(f"{row['p99']:7.1f}" for row in rows)
            verdict = ", ".join(f"{n}: {'yes' if results[n][think]['p99'] < 50 else 'NO'}" for n in counts)
            print(f"  think {think:.0f} ms, reply p99 ms:           {cells}   p99 < 50 ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--humans", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--think-ms", type=float, nargs="+", default=[0.0, 1000.0])
    parser.add_argument(
        "--compare-web",
        type=lambda text: [int(n) for n in text.split(",")],
        help="web-process counts to run every phase with, side by side (e.g. 1,2); overrides --web-processes",
    )
    parser.add_argument(
        "--games-each",
        type=int,
        help="games made per person before the timed part (a person stops when out; default: one per 5 s "
        "of phases, plus the warm-ups')",
    )
    _arena_env.add_options(parser)
    args = parser.parse_args()
    counts = args.compare_web or [args.web_processes]
    if min(counts) < 1:
        parser.error("web-process counts must be at least 1")

    # Before settings load: enough open games per person for every phase, no rate limit in the way.
    os.environ["ARENA_MAX_OPEN_GAMES"] = "100000"
    os.environ["ARENA_MOVES_PER_SECOND"] = "100000"
    os.environ["DJANGO_DEBUG"] = "0"  # as deployed (no query log), over plain http on loopback
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + base64.b64encode(os.urandom(24)).decode())
    work = _arena_env.setup("play", redis_db=11, database_url=args.database_url)
    made = time.monotonic()
    games_each = args.games_each or 6 + math.ceil(len(counts) * len(args.think_ms) * args.seconds / 5)
    checkpoint, people = prepare(args.humans, games_each)
    print(
        f"bench-play: {args.humans} people vs checkpoint {checkpoint.pk} (untrained MLP [64, 64]) at connect "
        f"four, uvicorn as `make run` serves it, {_arena_env.database_label()}, Redis channel layer; "
        f"{args.seconds:g} s per phase; {args.humans * games_each} games made in "
        f"{time.monotonic() - made:.0f} s; data in {work}; {_arena_env.load_note()}"
    )
    results = {n: serve_and_play(args, n, people, work) for n in counts}
    if len(counts) > 1:
        side_by_side(args, results)


if __name__ == "__main__":
    main()
