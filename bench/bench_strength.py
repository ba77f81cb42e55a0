"""How strong does Arena's DQN get from scratch, and how fast? Trains each seat, then plays 200 games.

Tic-tac-toe target: >= 90% wins vs random and no losses vs perfect minimax, in both seats, within
10 minutes on 2 CPU cores. Connect four target: >= 90% wins vs random within 15 minutes.

Each seat is its own run (a seat's opponent is fixed in a Tianshou MARL env); the two seats of a
game train in parallel processes, one core each. Tic-tac-toe trains against a pool of random and
minimax (sampled before every collect step): random teaches it to win, minimax to never lose.
Every seat's final checkpoint is reported, and so is its best checkpoint of the run, picked on 200
held-out games (early stopping on a validation set; the reported games use other seeds).

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
        "steps_per_epoch": 10_000,
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


REPORT_SEEDS = list(range(1000, 1000 + GAMES))
SELECT_SEEDS = list(range(50_000, 50_000 + GAMES))  # model selection never sees the report games


def _score(game: str, seat: str, path: str, bot: str, seeds: list[int] = REPORT_SEEDS) -> tuple[float, ...]:
    from marl.bots import make_bot
    from marl.checkpoints import load_agent
    from marl.games import get_game
    from marl.match import play_matches

    spec = get_game(game)
    me, opp = load_agent(path, device="cpu"), make_bot(game, bot, seed=seeds[0])
    agents = {s: (me if s == seat else opp) for s in spec.seats}
    results = play_matches(spec, agents, seeds)
    n = len(seeds)
    w = sum(r.winner == seat for r in results)
    d = sum(r.winner is None for r in results)
    return w / n, d / n, (n - w - d) / n


def _select(game: str, seat: str, directory: str) -> str:
    """Best checkpoint of the run on held-out games: fewest losses to the strong bot, then most wins
    vs random, then the latest (early stopping on a validation set; reported apart from the final)."""
    paths = sorted(str(p) for p in Path(directory).glob("*.safetensors") if ".state." not in p.name)
    scored = []
    for path in paths:
        strong = _score(game, seat, path, STRONG_BOT[game], SELECT_SEEDS)
        rnd = _score(game, seat, path, "random", SELECT_SEEDS)
        scored.append((strong[2], -rnd[0], -paths.index(path), path))
    return min(scored)[-1]


def _steps(path: str) -> int:
    return int(Path(path).name.split("-")[-1].split(".")[0])


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
        for _, seat, seconds, cpu, path, _steps_done in trained:
            print(
                f"{game} {seat}: trained {_steps(path)} steps in {seconds:.0f} s ({cpu:.0f} s CPU)",
                flush=True,
            )
            best = _select(game, seat, str(Path(path).parent))
            for label, p in (("final", path), ("best", best)):
                rows.append(
                    (
                        game,
                        seat,
                        label,
                        _steps(p),
                        cpu,
                        _score(game, seat, p, "random"),
                        _score(game, seat, p, STRONG_BOT[game]),
                    )
                )
        wall = time.perf_counter() - t  # training plus checkpoint selection
        print(f"{game}: wall time for both seats, with selection, {wall:.0f} s", flush=True)
        rows.append((game, "wall", "", 0, wall, None, None))

    print(f"\n{GAMES} games per cell, W/D/L in %, greedy; 'best' = checkpoint picked on {GAMES} other games")
    print(
        f"{'game':13}{'seat':10}{'ckpt':6}{'steps':>8}{'cpu s':>7}   {'vs random':^13}   {'vs strong bot':^22}"
    )
    for game, seat, label, steps, cpu, vs_random, vs_strong in rows:
        if seat == "wall":
            print(f"{game:13}{'both':10}{'':6}{'':>8}{'':>7}   wall {cpu:.0f} s (seats in parallel, 2 cores)")
            continue
        r = "/".join(f"{100 * x:.0f}" for x in vs_random)
        s = "/".join(f"{100 * x:.0f}" for x in vs_strong)
        print(f"{game:13}{seat:10}{label:6}{steps:8d}{cpu:7.0f}   {r:^13}   {STRONG_BOT[game] + ' ' + s:^22}")
    for game in games:
        wall = next(r[4] for r in rows if r[0] == game and r[1] == "wall")
        limit = 600 if game == "tictactoe" else 900
        for label in ("final", "best"):
            seat_rows = [r for r in rows if r[0] == game and r[2] == label]
            checks = [
                f"wins vs random >= 90% in every seat: {'yes' if all(r[5][0] >= 0.9 for r in seat_rows) else 'NO'}"
            ]
            if game == "tictactoe":
                checks.append(
                    f"no losses vs minimax: {'yes' if all(r[6][2] == 0 for r in seat_rows) else 'NO'}"
                )
            checks.append(f"within {limit // 60} min: {'yes' if wall <= limit else 'NO'} ({wall:.0f} s)")
            print(f"{game} {label}: " + "; ".join(checks))


if __name__ == "__main__":
    main()
