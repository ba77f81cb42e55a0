"""Live stream latency: moves published from a worker process reach spectators over real WebSockets.

Uvicorn serves the spectators as `make run` does (the Procfile's flags, `--web-processes` processes,
default what `make run` starts here; a socket lands on whichever process the kernel gives it); a
separate publisher process plays the worker's part, sending numbered move events with
`arena.live.publish` through the Redis channel layer, exactly as `arena.services.matches` does in a
Celery worker. Each event carries its send time; spectators record when it arrives. Printed per
scenario: deliveries/s, latency p50/p99/max, and whether anything was lost or reordered.

    python bench/bench_live.py            # both scenarios from the issue
    python bench/bench_live.py --seconds 5 --web-processes 1
    python bench/bench_live.py --scenario 250x4 --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402
from _ws import WebSocket, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    # name: (games, spectators per game, moves per second per game, p99 target in ms)
    "10x10": (10, 10, 10.0, 100.0),
    "250x4": (250, 4, 1.0, 150.0),  # issue 15: 1,000 spectators, with the web processes `make run` starts
}


def create_matches(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from arena.models import Match, MatchSeat
    from arena.services.games import game_get
    from arena.services.players import player_for_bot

    user, _ = get_user_model().objects.get_or_create(username="bench-live")
    game = game_get("tictactoe")
    first, second = player_for_bot(game=game, bot="random"), player_for_bot(game=game, bot="minimax")
    ids = []
    for _ in range(count):
        match = Match.objects.create(game=game, created_by=user, status=Match.RUNNING, rated=False)
        MatchSeat.objects.bulk_create(
            [
                MatchSeat(match=match, seat="player_1", player=first),
                MatchSeat(match=match, seat="player_2", player=second),
            ]
        )
        ids.append(match.pk)
    return ids


def publisher(ids: list[int], rate: float, seconds: float) -> None:
    """The worker's side: each game publishes `rate` numbered events per second for `seconds`, through
    `arena.live.publish` from plain sync code, exactly as a match task does."""
    from arena import live

    moves = int(rate * seconds)
    # Games start spread over the first interval, like real workers; (due time, game index, seq).
    start = time.monotonic()
    schedule = sorted(
        (start + i / len(ids) / rate + (seq - 1) / rate, i, seq)
        for i in range(len(ids))
        for seq in range(1, moves + 1)
    )
    for due, i, seq in schedule:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        event = live.match_event(
            match_id=ids[i],
            seq=seq,
            kind="move",
            ply=seq,
            seat="player_1",
            action=seq % 9,
            sent_at=time.time(),
        )
        live.publish(live.match_group(ids[i]), event)


async def spectator(
    port: int, match_id: int, expected: int, deadline: float, out: dict, arrivals: asyncio.Semaphore
) -> None:
    async with arrivals:  # spectators arrive over a few seconds, not in one instant
        try:
            sock = await WebSocket.connect("127.0.0.1", port, f"/ws/matches/{match_id}/")
            snapshot = await asyncio.wait_for(sock.recv_json(), 30)
            assert snapshot["type"] == "snapshot"
        except (OSError, ConnectionError, TimeoutError):
            out["failed_connects"] += 1
            out["lost"] += expected
            return
    out["ready"] += 1
    last = 0
    try:
        while last < expected:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            message = await asyncio.wait_for(sock.recv_json(), timeout)
            if message.get("type") != "event":
                continue
            out["latencies"].append((time.time() - message["sent_at"]) * 1000)
            if message["seq"] != last + 1:
                out["out_of_order"] += 1
            last = message["seq"]
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
        out["errors"].append(f"{type(exc).__name__}: {exc} after seq {last}")
    finally:
        out["lost"] += expected - last
        await sock.close()


async def scenario(port: int, games: int, watchers: int, rate: float, seconds: float) -> dict:
    ids = await asyncio.to_thread(create_matches, games)
    expected = int(rate * seconds)
    out = {"ready": 0, "failed_connects": 0, "latencies": [], "lost": 0, "out_of_order": 0, "errors": []}
    arrivals = asyncio.Semaphore(50)
    deadline = time.monotonic() + 120 + seconds  # every socket is given up after this: the run stops itself
    tasks = [
        asyncio.create_task(spectator(port, match_id, expected, deadline, out, arrivals))
        for match_id in ids
        for _ in range(watchers)
    ]
    while out["ready"] + out["failed_connects"] < len(tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    started = time.monotonic()
    pub = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publish",
        ",".join(map(str, ids)),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        env=os.environ.copy(),
    )
    await pub.wait()
    await asyncio.gather(*tasks)
    out["elapsed"] = time.monotonic() - started
    out["sockets"] = len(tasks)
    out["expected"] = expected * len(tasks)
    return out


def report(games: int, watchers: int, rate: float, target: float, out: dict) -> None:
    lat = sorted(out["latencies"])
    p = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: float("nan"))
    verdict = "meets" if lat and p(0.99) < target else "MISSES"
    print(f"{games} games x {watchers} spectators at {rate:g} moves/s ({out['sockets']} sockets)")
    print(
        f"  deliveries {len(lat)}/{out['expected']}  {len(lat) / out['elapsed']:.0f}/s   "
        f"lost {out['lost']}  out of order {out['out_of_order']}  failed connects {out['failed_connects']}"
    )
    print(
        f"  latency ms: p50 {p(0.5):.1f}  p99 {p(0.99):.1f}  max {lat[-1] if lat else float('nan'):.1f}  "
        f"mean {statistics.fmean(lat) if lat else float('nan'):.1f}   target p99 < {target:g} ms: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each scenario publishes")
    parser.add_argument(
        "--scenario", choices=list(SCENARIOS), nargs="+", default=list(SCENARIOS), help="which to run"
    )
    _arena_env.add_options(parser)
    parser.add_argument("--publish", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:  # the worker side, in its own process
        import django

        sys.path.insert(0, str(ROOT))
        django.setup()
        publisher([int(i) for i in args.publish.split(",")], args.rate, args.seconds)
        return

    work = _arena_env.setup("live", redis_db=9, database_url=args.database_url)
    port = free_port()
    log = work / "web.log"  # kept: the run prints where
    server = _arena_env.start_web(port, args.web_processes, log)
    try:
        _arena_env.wait_for_web(port, server, log)
        print(
            f"bench-live: uvicorn in {args.web_processes} web process(es) on :{port} as `make run` serves "
            f"it, {_arena_env.database_label()}, channel layer on Redis; publisher in a separate process; "
            f"{args.seconds:g} s per scenario (data in {work}); {_arena_env.load_note()}"
        )
        for name in args.scenario:
            games, watchers, rate, target = SCENARIOS[name]
            out = asyncio.run(scenario(port, games, watchers, rate, args.seconds))
            report(games, watchers, rate, target, out)
            print(f"  {_arena_env.load_note()}")
            print(json.dumps({k: v for k, v in out.items() if k != "latencies"}))
    finally:
        _arena_env.stop_web(server)


if __name__ == "__main__":
    main()
