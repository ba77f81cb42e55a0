"""Match-loop throughput, side by side: batched play_matches vs one-at-a-time play_match vs raw PettingZoo.

    python bench/bench_match.py --games 256 [--game go9 --game chess --big-games 16]

A PolicyAgent with a randomly initialised MLP plays a RandomAgent (half the games with seats swapped).
(a) play_matches (one forward per step for all games; on the game's fast core when nobody watches)
    against the same batch kept on the PettingZoo env and against the same games via play_match;
(b) both against a loop of random legal moves in the raw PettingZoo env, the ceiling for any loop.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marl.agents import PolicyAgent, RandomAgent  # noqa: E402
from marl.games import GameSpec, get_game  # noqa: E402
from marl.match import MatchResult, play_match, play_matches  # noqa: E402

# Games of hundreds of moves and big observations: fewer games per loop, one timed round.
BIG_GAMES = ("go9", "chess")


def build_policy(spec: GameSpec, device: str) -> PolicyAgent:
    """A randomly initialised MLP (marl.nets when present, else a local two-layer MLP)."""
    torch.manual_seed(0)
    try:
        from marl.nets import build_network

        network = build_network({"kind": "mlp", "hidden": [128, 128]}, spec.obs_shape, spec.n_actions)
    except ImportError:
        width = int(np.prod(spec.obs_shape))
        network = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(width, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, spec.n_actions),
        )
    return PolicyAgent(network, kind="q", device=device)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    moves = fn()
    return time.perf_counter() - start, moves


def run_loops(spec: GameSpec, games: int, device: str, repeat: int) -> dict[str, tuple[float, int]]:
    policy, rand = build_policy(spec, device), RandomAgent(0)
    first, second = spec.seats
    halves = [
        ({first: policy, second: rand}, range(0, games // 2)),
        ({first: rand, second: policy}, range(games // 2, games)),
    ]

    def batched() -> int:
        results: list[MatchResult] = []
        for agents, seeds in halves:
            results += play_matches(spec, agents, list(seeds))
        return sum(len(r.moves) for r in results)

    def batched_env() -> int:
        # A no-op on_step keeps the batch on the PettingZoo env, as when someone watches the games.
        results: list[MatchResult] = []
        for agents, seeds in halves:
            results += play_matches(spec, agents, list(seeds), lambda step: None)
        return sum(len(r.moves) for r in results)

    def one_at_a_time() -> int:
        return sum(len(play_match(spec, agents, s).moves) for agents, seeds in halves for s in seeds)

    def raw_pettingzoo() -> int:
        env, rng, moves = spec.make_env(), np.random.default_rng(0), 0
        for seed in range(games):
            env.reset(seed=seed)
            for _agent in env.agent_iter():
                observation, _reward, terminated, truncated, _info = env.last()
                action = (
                    None
                    if terminated or truncated
                    else int(rng.choice(np.flatnonzero(observation["action_mask"])))
                )
                env.step(action)
                moves += action is not None
        return moves

    batched()  # warm-up: first torch call, lazy imports, minimax-free caches
    loops = {
        "play_matches (batched)": batched,
        "play_matches on the env": batched_env,
        "play_match (one at a time)": one_at_a_time,
        "raw PettingZoo random loop": raw_pettingzoo,
    }
    # Interleaved rounds, best of each (as timeit does): the other processes on a shared machine only
    # ever add time, so the minimum is the closest to the loop's own cost.
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeat):
        for label, fn in loops.items():
            seconds, moves = timed(fn)
            if label not in best or seconds < best[label][0]:
                best[label] = (seconds, moves)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=256)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu: 2-core CI box)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds; the best of each is shown")
    parser.add_argument(
        "--game",
        action="append",
        dest="games_list",
        help="a registry game, repeatable (default: tictactoe, connect_four, go9, chess)",
    )
    parser.add_argument(
        "--big-games", type=int, default=16, help="games per loop for go9 and chess (hundreds of moves each)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{args.games} games per loop, best of {args.repeat} interleaved rounds, PolicyAgent (MLP 128x128, "
        f"{args.device}) vs RandomAgent, torch {torch.__version__}"
    )
    for name in args.games_list or ("tictactoe", "connect_four", "go9", "chess"):
        spec = get_game(name)
        big = name in BIG_GAMES
        games = args.big_games if big else args.games
        rows = run_loops(spec, games, args.device, 1 if big else args.repeat)
        base = rows["play_match (one at a time)"][0]
        raw = rows["raw PettingZoo random loop"][0]
        print(f"\n{spec.title} ({games} games per loop{', one round' if big else ''})")
        print(
            f"  {'loop':<28} {'seconds':>8} {'games/s':>9} {'moves/s':>9} {'vs play_match':>14} {'vs raw':>7}"
        )
        for label, (seconds, moves) in rows.items():
            print(
                f"  {label:<28} {seconds:>8.3f} {games / seconds:>9.1f} {moves / seconds:>9.0f} "
                f"{base / seconds:>13.2f}x {raw / seconds:>6.2f}x"
            )


if __name__ == "__main__":
    main()
