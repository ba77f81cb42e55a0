"""1,000 short matches between checkpoints through the Celery queue, end to end, against the same
matches played in one process with `play_matches`.

    python bench/bench_tournament.py [--matches 1000] [--batch-size 100] [--workers 2]

A round robin of 5 checkpoints (random MLPs, tic-tac-toe; 10 pairings x 100 games, seats alternating,
5 rounds) on a throwaway DB with a real `celery worker` process: create -> rounds dispatched as tasks ->
played -> recorded and rated -> rounds advanced -> final table. Matches are dispatched in batches per
task (`--batch-size`; each batch one `play_matches` call) because a task per match pays a message, a
claim and per-move writes each: `--per-match N` also times N matches as one task each, for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402


def run_tournament(user, participants: list[str], games_per_pair: int, batch_size: int) -> tuple[float, int]:
    from arena.models import Match, Tournament
    from arena.services.tournaments import tournament_create

    start = time.perf_counter()
    tournament = tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=participants,
        games_per_pair=games_per_pair,
        batch_size=batch_size,
        seed=1,
    )
    while Tournament.objects.get(pk=tournament.pk).status != Tournament.FINISHED:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    done = Match.objects.filter(tournament_match__round__tournament=tournament, status=Match.FINISHED).count()
    return elapsed, done


def in_process(checkpoints, games_per_pair: int) -> tuple[float, int]:
    """The same schedule with play_matches in this process: load the agents, play each pairing."""
    from marl.checkpoints import load_agent
    from marl.match import play_matches
    from marl.pairing import round_robin

    start = time.perf_counter()
    agents = {str(cp.pk): load_agent(cp.absolute_path()) for cp in checkpoints}
    played = 0
    for rnd in round_robin(list(agents), games_per_pair=1):
        for a, b in rnd:
            for first, second, n in ((a, b, (games_per_pair + 1) // 2), (b, a, games_per_pair // 2)):
                played += len(
                    play_matches(
                        "tictactoe", {"player_1": agents[first], "player_2": agents[second]}, list(range(n))
                    )
                )
    return time.perf_counter() - start, played


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery -c)")
    parser.add_argument("--per-match", type=int, default=100, help="also time this many one-task-per-match")
    args = parser.parse_args()
    # Recycling worker children every 20 tasks (the production default) would re-import torch mid-run.
    os.environ.setdefault("CELERY_WORKER_MAX_TASKS_PER_CHILD", "10000")
    # The site caps a tournament at 500 matches by default; the benchmark is the 1,000 the target names.
    os.environ.setdefault("ARENA_MAX_TOURNAMENT_MATCHES", str(max(args.matches, 500)))
    _arena_env.setup("tournament", redis_db=14)
    from django.contrib.auth import get_user_model

    from arena.celery import app

    user = get_user_model().objects.create_user(username="bench")
    checkpoints = _arena_env.random_checkpoints(user, "tictactoe", 5, every_seat=True)
    specs = [f"checkpoint:{cp.pk}" for cp in checkpoints]
    games_per_pair = max(1, args.matches // 10)
    app.control.purge()
    worker = _arena_env.start_worker(
        name=f"bench-{os.getpid()}", concurrency=args.workers, queues="games,celery"
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline:
                print("the worker did not start")
                return 1
        # Warm-up: one task per match so every worker child imports torch and marl before timing.
        run_tournament(user, specs[:2], 2 * args.workers, 1)
        celery_s, celery_n = run_tournament(user, specs, games_per_pair, args.batch_size)
        per_match = None
        if args.per_match:
            per_match = run_tournament(user, specs[:2], args.per_match, 1)
    finally:
        _arena_env.stop_worker(worker)
    local_s, local_n = in_process(checkpoints, games_per_pair)
    celery_rate, local_rate = celery_n / celery_s, local_n / local_s
    print(
        f"celery, batches of {args.batch_size}, {args.workers} worker processes: {celery_n} matches in "
        f"{celery_s:.2f} s = {celery_rate:.0f} matches/s (created, queued, played, recorded, rated, 5 rounds)"
    )
    print(
        f"one process, play_matches:                 {local_n} matches in {local_s:.2f} s = {local_rate:.0f} matches/s"
    )
    print(f"ratio celery / in-process: {celery_rate / local_rate:.2f} (target >= 0.5)")
    if per_match:
        s, n = per_match
        print(
            f"for comparison, one task per match (live events per move): {n} matches in {s:.2f} s = {n / s:.0f} matches/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
