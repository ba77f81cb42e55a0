"""A tic-tac-toe league of 2 DQN agents for N minutes: per tick, the best member's W/D/L against perfect
minimax and its rating (Elo points, random bot = 0, minimax pinned at 600).

    python bench/bench_league.py --minutes 10 [--steps-per-tick 4000]

Ticks run in this process (`leagues.league_tick`, as `manage.py league tick` does), on a throwaway DB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--steps-per-tick", type=int, default=4000, help="per member, split over its 2 seats")
    parser.add_argument("--eval-games", type=int, default=20)
    args = parser.parse_args()
    _arena_env.setup("league", redis_db=13)
    from django.contrib.auth import get_user_model

    from arena.services.agents import agent_create
    from arena.services.leagues import league_create, league_tick

    user = get_user_model().objects.create_user(username="bench")
    members = [
        agent_create(owner=user, game="tictactoe", name=f"dqn-{i}", algorithm="dqn").pk for i in (1, 2)
    ]
    league = league_create(
        user=user,
        game="tictactoe",
        name="bench",
        members=members,
        env_steps_per_tick=args.steps_per_tick,
        eval_games=args.eval_games,
        pool_size=4,
        train_overrides={"num_envs": 8, "eps_decay_steps": 20_000, "lr": 1e-3},
    )
    deadline = time.monotonic() + args.minutes * 60
    print(f"{'tick':>4} {'secs':>6}  best member          vs minimax W/D/L   rating   vs random W/D/L")
    while time.monotonic() < deadline:
        start = time.monotonic()
        number = league_tick(league_id=league.pk, worker="bench", force=True)
        tick = league.ticks.get(number=number)
        if tick.status != "done":
            print(f"tick {number} failed: {tick.error}")
            return 1
        rows = [r for r in tick.results.values() if r["rating"] is not None]
        best = max(rows, key=lambda r: r["rating"])
        w, d, lo = best["vs"]["bot:minimax"]
        rw, rd, rl = best["vs"]["bot:random"]
        print(
            f"{number:>4} {time.monotonic() - start:6.1f}  {best['label']:<20} {w:>4}/{d:>3}/{lo:<3}"
            f"        {best['rating']:7.0f}   {rw}/{rd}/{rl}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
