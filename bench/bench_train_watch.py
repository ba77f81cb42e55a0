"""What watching a run costs its training: env steps/s without sampled games, with one every 5 s (the
default) and with one every 0.5 s (ten times as often), side by side; and what one sampled game costs
the training thread, timed alone.

The games go where a worker sends them: ``arena.services.training_watch.TrainingGameStream``, which
publishes every position over the real Redis channel layer at 3 moves/s from a thread of its own (a
throwaway Arena: its own SQLite file and Redis database, see ``_arena_env``). Same DQN config as
``bench_train_speed``. Runs alternate (none, default, often, none, ...) and medians count, since the
machine is shared; steps per CPU second (all threads of the process, the publisher's too) are shown
beside steps per wall second, being far less disturbed by other work on a shared machine. Target: the
default costs at most a few percent.

    .venv/bin/python bench/bench_train_watch.py [--steps 10000] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _arena_env  # noqa: E402
from bench_train_speed import CONFIG  # noqa: E402

MODES = {"none": None, "every 5 s": 5.0, "every 0.5 s": 0.5}


def run(steps: int, every_s: float | None) -> tuple[float, float, int]:
    """Env steps per wall second and per CPU second of one run, and how many games it sampled."""
    from arena.services.training_watch import TrainingGameStream
    from marl.train import TrainConfig, train

    cfg = TrainConfig.from_dict({**CONFIG, "env_steps": steps})
    stream = TrainingGameStream(0, moves_per_second=3.0)
    games = [0]

    def on_sample(game: dict) -> None:
        games[0] += 1
        stream.offer(game)

    hooks = {} if every_s is None else {"on_sample": on_sample, "sample_every_s": every_s}
    with tempfile.TemporaryDirectory() as out:
        t, cpu = time.perf_counter(), time.process_time()
        result = train(cfg, out_dir=out, **hooks)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    stream.close()
    return result.env_steps / wall, result.env_steps / cpu, games[0]


def one_game_ms(reps: int = 200) -> float:
    """Milliseconds one sampled game takes the training thread: the greedy copy of the bench's network,
    a game against random through the match loop, every position's state_json."""
    from marl.agents import RandomAgent
    from marl.games import get_game
    from marl.nets import build_network
    from marl.train_watch import GameSampler, sample_players

    spec = get_game(CONFIG["game"])
    net = build_network(CONFIG["network"], spec.obs_shape, spec.n_actions)
    sampler = GameSampler(spec, lambda game: None, every_s=0)
    opponents = [("random", RandomAgent(0))]
    t = time.perf_counter()
    for _ in range(reps):
        agents, players = sample_players(spec, {spec.seats[0]: net}, "q", opponents, 0)
        sampler.play(agents, players=players, env_steps=0)
    return 1000 * (time.perf_counter() - t) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    _arena_env.setup("train-watch", redis_db=13)
    import torch

    torch.set_num_threads(1)
    run(500, 0.1)  # warm-up: imports, numba kernels, the channel layer's connection
    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    games: dict[str, list[int]] = {mode: [] for mode in MODES}
    for rep in range(args.reps):
        for mode, every in MODES.items():
            rate, cpu_rate, n = run(args.steps, every)
            wall[mode].append(rate)
            cpu[mode].append(cpu_rate)
            games[mode].append(n)
        print(f"rep {rep + 1}: " + "   ".join(f"{m} {wall[m][-1]:6.0f}/s" for m in MODES), flush=True)
    base, cpu_base = statistics.median(wall["none"]), statistics.median(cpu["none"])
    print(f"\n{'sampled games':14}{'steps/s':>9}{'ratio':>8}{'steps/CPU s':>13}{'ratio':>8}{'games/run':>11}")
    for mode in MODES:
        w, c = statistics.median(wall[mode]), statistics.median(cpu[mode])
        n = statistics.median(games[mode])
        print(f"{mode:14}{w:9.0f}{w / base:8.3f}x{c:13.0f}{c / cpu_base:8.3f}x{n:11.0f}")
    ms = one_game_ms()
    print(f"\none sampled game takes the training thread {ms:.2f} ms: {ms / 50:.3f}% of every 5 s")
    print(f"config: {args.steps} env steps, DQN 128x128, 8 envs (bench_train_speed), 3 moves/s published")
    default = statistics.median(cpu["every 5 s"]) / cpu_base
    print(
        f"target: every 5 s costs at most 3%: {'met' if default >= 0.97 else 'NOT met'} ({default:.3f}x per CPU s)"
    )


if __name__ == "__main__":
    main()
