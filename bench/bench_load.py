"""Arena under mixed load, then a connection storm after a web-server restart.

    python bench/bench_load.py                                   # 500 spectators, 100 matches, 50 people
    python bench/bench_load.py --spectators 100 --matches 20 --humans 10 --seconds 10
    python bench/bench_load.py --database-url postgres://postgres@127.0.0.1:5432/postgres

A throwaway Arena (temp SQLite or, with `--database-url`, a PostgreSQL database of its own; media;
Redis database 5) served as `make run` serves it: uvicorn in `--web-processes` processes (default what
`make run` starts here) with the Procfile's flags, a games worker (queues games, celery, evaluation;
prefork -c 2) and a training worker (queue training; -c 1), all on loopback. While one tiny training
run trains and agent-vs-agent matches play on the workers:
  - `--spectators` sockets watch `--matches` live matches (RUNNING rows fed by a publisher process
    through `arena.live.publish`, as in bench_live), numbered events: delivery latency and seq gaps;
  - `--humans` people play connect four against a random checkpoint over ws/play/<id>/ (as in
    bench_play): move -> reply latency;
  - a page probe loads the dashboard `/` and a live match's page every `--probe-every` seconds, each
    on a fresh connection as a browser's first visit: latency p50/p99/max (target: under a second);
  - the web processes' RSS before and with the sockets open, per socket.
Then the storm: the web server is stopped and started again on the same port; every spectator
reconnects at once with jittered exponential backoff. Printed: handshake failures, time until all are
back. Bounded: each phase lasts `--seconds`; every wait has a deadline; every subprocess is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402
import bench_live  # noqa: E402
import bench_play  # noqa: E402
from _ws import WebSocket, free_port, http_get  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
TRAIN = {"env_steps": 2048, "steps_per_epoch": 256, "num_envs": 2, "eval_games": 2, "seed": 1}
# What a dropped or refused socket raises (ConnectionError and TimeoutError are OSErrors).
DROPPED = (OSError, asyncio.IncompleteReadError)
BACKOFF_BASE, BACKOFF_CAP = 0.25, 8.0  # as a browser client would: full jitter, doubling, capped


def _cpu(proc: psutil.Process) -> float:
    """CPU % (100 = one core) since the previous call; 0 for a process that has gone."""
    try:
        return proc.cpu_percent(None)
    except psutil.NoSuchProcess:
        return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_mb(server: subprocess.Popen) -> float:
    """Resident memory of all the web server's processes together, MB."""
    return sum(proc.memory_info().rss for proc in _arena_env.web_processes(server)) / MB


def background_work(matches: int):
    """One tiny training run and `matches` agent-vs-agent matches, queued for the worker."""
    from django.contrib.auth import get_user_model

    from arena.services.agents import agent_create
    from arena.services.matches import match_create
    from arena.services.training import training_run_create

    user = get_user_model().objects.create_user(username="bench-load-trainer")
    agent = agent_create(owner=user, game="tictactoe", name="load", algorithm="dqn")
    run = training_run_create(user=user, agent_id=agent.pk, config=TRAIN)
    ids = [
        match_create(
            user=user,
            game="tictactoe",
            seats={"player_1": "bot:random", "player_2": "bot:minimax"},
            move_delay=0.5,  # a watchable pace, so they play during the whole phase
            rated=False,
        ).pk
        for _ in range(matches)
    ]
    return run.pk, ids


def background_status(run_id: int, match_ids: list[int]) -> str:
    from collections import Counter

    from arena.models import Match, TrainingRun

    run = TrainingRun.objects.get(pk=run_id)
    counts = Counter(Match.objects.filter(pk__in=match_ids).values_list("status", flat=True))
    return (
        f"training run {run.status} ({run.env_steps_done}/{run.env_steps_total} steps); "
        f"agent matches {dict(counts)}"
    )


async def connect(port: int, match_id: int, timeout: float) -> WebSocket:
    sock = await asyncio.wait_for(WebSocket.connect("127.0.0.1", port, f"/ws/matches/{match_id}/"), timeout)
    snapshot = await asyncio.wait_for(sock.recv_json(), timeout)
    if snapshot.get("type") != "snapshot":
        raise ConnectionError(f"expected a snapshot, got {snapshot.get('type')}")
    return sock


async def spectator(port: int, match_id: int, expected: int, s: dict, arrivals: asyncio.Semaphore) -> None:
    """Watch one match: phase 1 counts latency and seq gaps; the storm reconnects with backoff."""
    async with arrivals:  # they arrive over a few seconds, not in one instant
        try:
            sock = await connect(port, match_id, 30)
        except DROPPED:
            s["failed_connects"] += 1
            s["lost"] += expected
            return
    s["ready"] += 1
    await s["go"].wait()
    last = 0
    try:
        while last < expected:
            timeout = s["phase_end"] - time.monotonic()
            if timeout <= 0:
                break
            message = await asyncio.wait_for(sock.recv_json(), timeout)
            if message.get("type") != "event":
                continue
            s["latencies"].append((time.time() - message["sent_at"]) * 1000)
            if message["seq"] > last + 1:
                s["gaps"] += message["seq"] - last - 1  # events that never arrived on this socket
            last = max(last, message["seq"])
    except TimeoutError:
        pass
    except DROPPED as exc:
        s["errors"].append(f"{type(exc).__name__}: {exc}")
    s["lost"] += expected - last
    s["watching"] += 1

    # The storm: wait for the server to go away (it drops every socket at once), then come back.
    try:
        while time.monotonic() < s["storm_end"]:
            await asyncio.wait_for(sock.recv_json(), s["storm_end"] - time.monotonic())
    except DROPPED:
        pass
    sock.writer.close()
    await s["storm"].wait()  # one dropped early (counted in errors) still comes back with the storm
    attempt = 0
    while time.monotonic() < s["storm_end"]:
        try:
            sock = await connect(port, match_id, 10)
        except DROPPED as exc:
            s["handshake_failures"] += 1
            if s["up"] is not None:  # refused while the server was down is expected; after it is up, not
                s["failures_after_up"].append(f"{type(exc).__name__}: {exc}"[:80])
            await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
            attempt += 1
            continue
        s["reconnected"].append(time.monotonic())
        s["attempts"].append(attempt + 1)
        await sock.close()
        return


async def human(port: int, cookie: str, games: list[int], deadline: float, think: float, s: dict) -> None:
    try:  # person() checks its deadline between moves only: a stalled reply must not hang the run
        await asyncio.wait_for(
            bench_play.person(port, cookie, games, deadline, think, s["play"]),
            deadline - time.monotonic() + 30,
        )
    except (*DROPPED, RuntimeError, KeyError) as exc:
        s["play_errors"].append(f"{type(exc).__name__}: {exc}")


async def probe(port: int, paths: list[str], every: float, until: float, s: dict) -> None:
    """Load each page in turn every `every` seconds until `until`; latency per page, non-200s counted."""
    while time.monotonic() < until:
        tick = time.monotonic()
        for path in paths:
            started = time.perf_counter()
            try:
                status, _ = await http_get("127.0.0.1", port, path, timeout=30)
            except (*DROPPED, ValueError) as exc:
                s["page_errors"].append(f"{path}: {type(exc).__name__}")
                continue
            if status != 200:
                s["page_errors"].append(f"{path}: HTTP {status}")
                continue
            s["pages"].setdefault(path, []).append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, every - (time.monotonic() - tick)))


async def load(
    args: argparse.Namespace,
    port: int,
    work: Path,
    server: list[subprocess.Popen],
    people: list[tuple[str, list[int]]],
    workers: list[psutil.Process],
) -> dict:
    """Phase 1 (mixed load), then phase 2 (restart + reconnect storm); returns the raw figures."""
    match_ids = await asyncio.to_thread(bench_live.create_matches, args.matches)
    expected = int(args.rate * args.seconds)
    s: dict = {
        "ready": 0,
        "failed_connects": 0,
        "watching": 0,
        "latencies": [],
        "gaps": 0,
        "lost": 0,
        "errors": [],
        "handshake_failures": 0,
        "failures_after_up": [],
        "up": None,
        "reconnected": [],
        "attempts": [],
        "play": bench_play.phase_stats(),
        "play_errors": [],
        "pages": {},
        "page_errors": [],
        "go": asyncio.Event(),
        "storm": asyncio.Event(),
        "phase_end": float("inf"),
        "storm_end": float("inf"),
    }
    me = psutil.Process()
    s["rss_idle"] = rss_mb(server[0])
    arrivals = asyncio.Semaphore(50)
    watchers = [
        asyncio.create_task(spectator(port, match_ids[i % len(match_ids)], expected, s, arrivals))
        for i in range(args.spectators)
    ]
    connect_deadline = time.monotonic() + 120
    while s["ready"] + s["failed_connects"] < len(watchers) and time.monotonic() < connect_deadline:
        await asyncio.sleep(0.05)
    s["rss_spectators"] = rss_mb(server[0])

    paths = ["/", f"/matches/{match_ids[0]}/"]
    for _ in range(4 * args.web_processes):  # not timed: each process's first page compiles templates
        for path in paths:
            with contextlib.suppress(*DROPPED, ValueError):
                await http_get("127.0.0.1", port, path, timeout=30)

    # Phase 1: everything at once for `--seconds`. CPU per process tells who saturates the cores.
    procs = {
        "web": _arena_env.web_processes(server[0]),
        "workers": [p for w in workers for p in (w, *w.children(recursive=True))],
        "clients": [me],
    }
    for group in procs.values():
        for proc in group:
            proc.cpu_percent(None)
    cpu_started = time.monotonic()
    s["phase_end"] = time.monotonic() + args.seconds + 10  # the publisher's start-up is not counted
    s["storm_end"] = s["phase_end"] + 600  # set properly when the storm starts
    s["go"].set()
    publisher = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(bench_live.__file__)),
        "--publish",
        ",".join(map(str, match_ids)),
        "--rate",
        str(args.rate),
        "--seconds",
        str(args.seconds),
        env=os.environ.copy(),
    )
    people_deadline = time.monotonic() + args.seconds
    humans = [
        asyncio.create_task(human(port, cookie, games, people_deadline, args.think_ms / 1000, s))
        for cookie, games in people
    ]
    pages = asyncio.create_task(probe(port, paths, args.probe_every, people_deadline, s))
    await asyncio.sleep(args.seconds / 2)
    s["rss_busy"] = rss_mb(server[0])
    s["cpu"] = {name: sum(_cpu(proc) for proc in group) for name, group in procs.items()}
    s["cpu_window"] = time.monotonic() - cpu_started
    s["loadavg"] = _arena_env.load_note()
    await asyncio.wait_for(publisher.wait(), args.seconds + 60)
    await asyncio.gather(*humans, pages)
    await asyncio.gather(*s["play"]["closing"])  # sockets waiting for their game's rating
    while s["watching"] + s["failed_connects"] < len(watchers) and time.monotonic() < s["phase_end"]:
        await asyncio.sleep(0.05)

    # Phase 2: restart the web server on the same port; every spectator reconnects at once.
    open_sockets = s["watching"]
    s["storm_end"] = time.monotonic() + args.seconds + 60  # + the server's start-up
    stopped = time.monotonic()
    s["storm"].set()
    # In threads: the spectators must see the drop and retry meanwhile, on this event loop.
    # 10 s: what `docker stop` allows before SIGKILL.
    s["killed"] = await asyncio.to_thread(_arena_env.stop_web, server[0], 10.0)
    server[0] = _arena_env.start_web(port, args.web_processes, work / "web.log")
    await asyncio.to_thread(_arena_env.wait_for_web, port, server[0], work / "web.log")
    up = s["up"] = time.monotonic()
    await asyncio.gather(*watchers)
    s["open_sockets"] = open_sockets
    s["restart_s"] = up - stopped
    s["all_back_from_stop"] = max(s["reconnected"]) - stopped if s["reconnected"] else float("nan")
    s["all_back_from_up"] = max(s["reconnected"]) - up if s["reconnected"] else float("nan")
    s["back_p50_from_up"] = pct([t - up for t in s["reconnected"]], 0.5)
    return s


def report(args: argparse.Namespace, s: dict) -> None:
    lat, play = s["latencies"], s["play"]["latency"]
    expected = int(args.rate * args.seconds) * args.spectators
    per_socket = (s["rss_spectators"] - s["rss_idle"]) * 1024 / max(1, s["ready"])
    print(f"\nphase 1: {args.seconds:g} s of mixed load")
    print(
        f"  spectators: {s['ready']}/{args.spectators} connected (failed {s['failed_connects']}); deliveries "
        f"{len(lat)}/{expected}; latency ms p50 {pct(lat, 0.5):.1f} p99 {pct(lat, 0.99):.1f} "
        f"max {max(lat, default=float('nan')):.1f}; lost {s['lost'] + s['gaps']} ({s['gaps']} of them seq gaps); "
        f"errors {len(s['errors'])}"
    )
    print(
        f"  people: replies {len(play)}, move->reply ms p50 "
        f"{statistics.median(play) * 1000 if play else float('nan'):.1f} p99 {pct(play, 0.99) * 1000:.1f} "
        f"max {max(play, default=float('nan')) * 1000:.1f}; games finished {s['play']['games']}; "
        f"errors {len(s['play_errors'])}; stalled over {bench_play.STALL_S:g} s {s['play'].get('stalled', 0)}"
    )
    for path, times in s["pages"].items():
        ms = [t * 1000 for t in times]
        print(
            f"  page {path}: {len(ms)} loads, ms p50 {pct(ms, 0.5):.0f} p99 {pct(ms, 0.99):.0f} "
            f"max {max(ms):.0f}; under 1 s: {'yes' if max(ms) < 1000 else 'NO'}"
        )
    print(
        f"  web RSS MB ({args.web_processes} process(es) and uvicorn's supervisor): idle {s['rss_idle']:.1f}, "
        f"with {s['ready']} spectator sockets "
        f"{s['rss_spectators']:.1f} ({per_socket:.1f} KB per socket), under load {s['rss_busy']:.1f}"
    )
    cpu = ", ".join(f"{name} {value:.0f} %" for name, value in s["cpu"].items())
    print(
        f"  CPU over the first {s['cpu_window']:.0f} s (100 % = one core of {os.cpu_count()}): {cpu}; "
        f"{s['loadavg']}"
    )
    for label, errors in (
        ("spectator", s["errors"]),
        ("people", s["play_errors"]),
        ("page", s["page_errors"]),
        ("reconnect after up", s["failures_after_up"]),
    ):
        for error in sorted(set(errors))[:5]:
            print(f"  {label} error: {error} (x{errors.count(error)})")
    back = len(s["reconnected"])
    print(
        f"phase 2: web server restarted on the same port ({s['restart_s']:.1f} s down; "
        f"{'SIGKILLed after 10 s, a worker still waiting for its tasks' if s['killed'] else 'stopped by SIGTERM'}"
        "), storm of reconnects"
    )
    print(
        f"  {back}/{s['open_sockets']} spectators back; handshake failures {s['handshake_failures']} "
        f"({len(s['failures_after_up'])} after the server answered); "
        f"attempts per socket max {max(s['attempts'], default=0)}; half back {s['back_p50_from_up']:.2f} s, "
        f"all back {s['all_back_from_up']:.2f} s "
        f"after the server answered ({s['all_back_from_stop']:.2f} s after it was stopped)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spectators", type=int, default=500)
    parser.add_argument("--matches", type=int, default=100, help="live matches the spectators watch")
    parser.add_argument("--humans", type=int, default=50)
    parser.add_argument("--agent-matches", type=int, default=10, help="agent-vs-agent matches on the worker")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--rate", type=float, default=1.0, help="events per second per live match")
    parser.add_argument("--think-ms", type=float, default=300.0, help="a person's mean think time")
    parser.add_argument("--probe-every", type=float, default=0.5, help="seconds between page probes")
    _arena_env.add_options(parser)
    args = parser.parse_args()

    # Before settings load: rate limits and open-game caps are not what this measures.
    os.environ["ARENA_MAX_OPEN_GAMES"] = "1000"
    os.environ["ARENA_MOVES_PER_SECOND"] = "100000"
    os.environ["ARENA_RATE_TRAINING"] = "100000"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + base64.b64encode(os.urandom(24)).decode())
    work = _arena_env.setup("load", redis_db=5, database_url=args.database_url)
    from arena.celery import app

    app.control.purge()
    # As the Procfile's two workers (start now: torch's import overlaps the set-up below).
    workers = [
        _arena_env.start_worker(
            name="load-games", concurrency=2, queues="games,celery,evaluation", log=work / "games.log"
        ),
        _arena_env.start_worker(
            name="load-training", concurrency=1, queues="training", log=work / "training.log"
        ),
    ]
    port = free_port()
    server = [_arena_env.start_web(port, args.web_processes, work / "web.log")]
    try:
        warm = 4 * args.web_processes  # people who only warm the web processes up
        checkpoint, people = bench_play.prepare(args.humans + warm, 10)
        _arena_env.wait_for_web(port, server[0], work / "web.log")
        print(
            f"bench-load: {args.spectators} spectators over {args.matches} live matches ({args.rate:g} events/s "
            f"each), {args.humans} people vs checkpoint {checkpoint.pk} at connect four (think "
            f"{args.think_ms:g} ms), 1 training run {TRAIN} + {args.agent_matches} agent matches on the "
            f"games (-c 2) and training (-c 1) workers; uvicorn in {args.web_processes} web process(es) on "
            f":{port}; {_arena_env.database_label()}; {args.seconds:g} s per phase; data in {work}; "
            f"{_arena_env.load_note()}"
        )
        bench_play.warm_up(port, people[:warm], server[0])  # loads torch in every web process
        run_id, match_ids = background_work(args.agent_matches)
        procs = [psutil.Process(w.pid) for w in workers]
        s = asyncio.run(load(args, port, work, server, people[warm:], procs))
        report(args, s)
        print(f"  workers: {background_status(run_id, match_ids)}")
    finally:
        _arena_env.stop_web(server[0])
        for worker in workers:
            _arena_env.stop_worker(worker, grace=20)
        app.control.purge()


if __name__ == "__main__":
    main()
