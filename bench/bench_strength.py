"""How strong does Arena's DQN get from scratch, and how fast? Trains each seat, then plays 200 games.

Tic-tac-toe target: >= 90% wins vs random and no losses vs perfect minimax, in both seats, within
10 minutes on 2 CPU cores. Connect four target: >= 90% wins vs random within 15 minutes.

Each seat is its own run (a seat's opponent is fixed in a Tianshou MARL env); the two seats of a
game train in parallel processes, one core each. Tic-tac-toe trains against a pool of random and
minimax (sampled before every collect step): random teaches it to win, minimax to never lose.

    .venv/bin/python bench/bench_strength.py [--game tictactoe|connect_four|all] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GAMES = 200
CONFIGS: dict[str, dict[str, Any]] = {
    "tictactoe": {
        "network": {"kind": "mlp", "hidden": [128, 128]},
        "env_steps": 120_000,
        "steps_per_epoch": 20_000,
        "lr": 5e-4,
        "gamma": 0.9,
        "n_step": 2,
        "batch_size": 128,
        "buffer_size": 50_000,
        "target_update_freq": 250,
        "num_envs": 8,
        "step_per_collect": 64,
        "update_per_step": 0.5,
        "eps_train": 0.6,
        "eps_train_final": 0.02,
        "eps_decay_steps": 80_000,
        "opponent": "pool",
        "pool": ["random", "minimax"],
        "pool_weights": [0.5, 0.5],
        "eval_games": 100,
    },
    "connect_four": {
        "network": {"kind": "mlp", "hidden": [256, 256]},
        "env_steps": 150_000,
        "steps_per_epoch": 25_000,
        "lr": 5e-4,
        "gamma": 0.95,
        "n_step": 2,
        "batch_size": 128,
        "buffer_size": 100_000,
        "target_update_freq": 500,
        "num_envs": 8,
        "step_per_collect": 64,
        "update_per_step": 0.25,
        "eps_train": 0.5,
        "eps_train_final": 0.05,
        "eps_decay_steps": 80_000,
        "opponent": "random",
        "eval_games": 100,
    },
}
# The second seat must both exploit random (its ceiling is 93.9% wins) and never lose to minimax,
# whose openings punish it hardest: it sees minimax more often.
SEAT_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("tictactoe", "player_2"): {"pool_weights": [0.3, 0.7], "env_steps": 150_000}
}
STRONG_BOT = {"tictactoe": "minimax", "connect_four": "alphabeta:2"}


def _override(game: str, seat: str, scale: float) -> dict[str, Any]:
    over = dict(SEAT_OVERRIDES.get((game, seat), {}))
    if "env_steps" in over:
        over["env_steps"] = max(1, int(over["env_steps"] * scale))
    return over


def _train_seat(job: tuple[str, str, dict[str, Any], str]) -> tuple[str, str, float, float, str, int]:
    import torch

    torch.set_num_threads(1)  # one core per seat; the two seats run side by side
    from marl.train import TrainConfig, train

    game, seat, cfg, out = job
    t, cpu = time.perf_counter(), time.process_time()
    result = train(
        TrainConfig.from_dict({**cfg, "game": game, "learn_seats": [seat], "device": "cpu"}), out_dir=out
    )
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    return game, seat, wall, cpu, str(result.checkpoints[seat]), result.env_steps


def _score(game: str, seat: str, path: str, bot: str) -> tuple[float, float, float]:
    from marl.bots import make_bot
    from marl.checkpoints import load_agent
    from marl.games import get_game
    from marl.match import play_matches

    spec = get_game(game)
    me, opp = load_agent(path, device="cpu"), make_bot(game, bot, seed=12345)
    agents = {s: (me if s == seat else opp) for s in spec.seats}
    results = play_matches(spec, agents, list(range(1000, 1000 + GAMES)))
    w = sum(r.winner == seat for r in results) / GAMES
    d = sum(r.winner is None for r in results) / GAMES
    return w, d, 1 - w - d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--game", default="all", choices=["all", *CONFIGS])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply env steps (and decay) by this")
    ap.add_argument("--out", default=None, help="checkpoint directory (default: a new temp directory)")
    args = ap.parse_args()
    games = list(CONFIGS) if args.game == "all" else [args.game]
    from marl.games import get_game

    rows = []
    tmp = args.out or tempfile.mkdtemp(prefix="arena-bench-strength-")
    print(f"checkpoints under {tmp}", flush=True)
    for game in games:
        cfg = dict(CONFIGS[game])
        for key in ("env_steps", "steps_per_epoch", "eps_decay_steps"):
            cfg[key] = max(1, int(cfg[key] * args.scale))
        jobs = [
            (game, seat, {**cfg, **_override(game, seat, args.scale)}, f"{tmp}/{game}/{seat}")
            for seat in get_game(game).seats
        ]
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(len(jobs)) as pool:
            trained = pool.map(_train_seat, jobs)
        wall = time.perf_counter() - t
        for _, seat, seconds, cpu, path, steps in trained:
            vs_random = _score(game, seat, path, "random")
            vs_strong = _score(game, seat, path, STRONG_BOT[game])
            rows.append((game, seat, steps, seconds, cpu, vs_random, vs_strong))
            print(f"{game} {seat}: trained {steps} steps in {seconds:.0f} s ({cpu:.0f} s CPU)", flush=True)
        print(f"{game}: wall time for both seats {wall:.0f} s", flush=True)
        rows.append((game, "wall", 0, wall, 0.0, None, None))

    print(f"\n{GAMES} games per cell, W/D/L in %, greedy policy from the final checkpoint")
    print(
        f"{'game':13}{'seat':10}{'steps':>8}{'wall s':>8}{'cpu s':>7}   {'vs random':^13}   {'vs strong bot':^22}"
    )
    for game, seat, steps, seconds, cpu, vs_random, vs_strong in rows:
        if seat == "wall":
            print(f"{game:13}{'both':10}{'':>8}{seconds:8.0f}{'':>7}   (wall time, seats in parallel)")
            continue
        r = "/".join(f"{100 * x:.0f}" for x in vs_random)
        s = "/".join(f"{100 * x:.0f}" for x in vs_strong)
        print(
            f"{game:13}{seat:10}{steps:8d}{seconds:8.0f}{cpu:7.0f}   {r:^13}   {STRONG_BOT[game] + ' ' + s:^22}"
        )
    for game in games:
        seat_rows = [r for r in rows if r[0] == game and r[1] != "wall"]
        wall = next(r[3] for r in rows if r[0] == game and r[1] == "wall")
        wins_ok = all(r[5][0] >= 0.9 for r in seat_rows)
        limit = 600 if game == "tictactoe" else 900
        checks = [f"wins vs random >= 90% in every seat: {'yes' if wins_ok else 'NO'}"]
        if game == "tictactoe":
            no_loss = all(r[6][2] == 0 for r in seat_rows)
            checks.append(f"no losses vs minimax: {'yes' if no_loss else 'NO'}")
        cpu = max(r[4] for r in seat_rows)
        checks.append(f"within {limit // 60} min: {'yes' if wall <= limit else 'NO'} ({wall:.0f} s wall")
        checks[-1] += f", {cpu:.0f} s CPU for the slower seat)"
        print(f"{game}: " + "; ".join(checks))


if __name__ == "__main__":
    main()
