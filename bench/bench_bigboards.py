"""Go 9x9 and chess from pure self-play: the final checkpoint against random and the weakest engines.

    python bench/bench_bigboards.py                         # go 9x9 and chess, 30 training minutes each
    python bench/bench_bigboards.py --minutes 2 --games 10  # a short check
    python bench/bench_bigboards.py --only go9 --clock cpu  # on a machine shared with other work

For each game, PPO with the convolutional network learns by pure self-play (``opponent: "self"``: both
seats learn, no bot in training) for ``--minutes`` of training. The final checkpoints (greedy, as the
arena plays them; each seat's own network in its seat) then play ``--games`` games a seat against
random, and ``--engine-games`` a seat against the weakest engine setting (``gnugo:1`` for go,
``stockfish:0`` for chess), each game a fresh engine process. The score is wins plus half the draws (a
game stopped at the move limit is adjudicated by the game: go scores the board, chess calls it a draw).
Targets (issue 13): go at least 90% wins against random; chess at least 75% score against random.

Training time excludes nothing (the run's own evaluation games are part of it). Torch uses one thread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _clock import Clock  # noqa: E402

from marl.bots import make_bot  # noqa: E402
from marl.checkpoints import load_agent  # noqa: E402
from marl.games import get_game  # noqa: E402
from marl.match import MatchResult, play_match, play_matches  # noqa: E402
from marl.train import train  # noqa: E402

NETWORK = {"kind": "cnn", "channels": [32, 32], "hidden": [256]}
CONFIGS: dict[str, dict[str, Any]] = {
    game: {
        "game": game,
        "algorithm": "ppo",
        "opponent": "self",
        "network": NETWORK,
        "num_envs": 8,
        "steps_per_epoch": 8_000,
        "episode_per_collect": 16,
        "batch_size": 256,
        "repeat_per_collect": 2,
        "lr": 3e-4,
        "eval_games": 4,
        "device": "cpu",
    }
    for game in ("go9", "chess")
}
ENGINES = {"go9": "gnugo:1", "chess": "stockfish:0"}
TARGETS = {"go9": ("win", 0.90), "chess": ("score", 0.75)}


def _summary(results: list[MatchResult], seat: str) -> dict[str, float]:
    wins = sum(r.winner == seat for r in results)
    draws = sum(r.winner is None for r in results)
    n = len(results)
    return {"win": wins / n, "draw": draws / n, "score": (wins + draws / 2) / n, "n": n}


def against_random(game: str, agents: dict[str, Any], games: int) -> dict[str, dict[str, float]]:
    """Each seat's own network against random in that seat, ``games`` games, played in a batch."""
    out = {}
    for seat in get_game(game).seats:
        other = next(s for s in get_game(game).seats if s != seat)
        seats = {seat: agents[seat], other: make_bot(game, "random", seed=7)}
        out[seat] = _summary(play_matches(game, seats, list(range(games))), seat)
    return out


def against_engine(game: str, agents: dict[str, Any], games: int) -> dict[str, dict[str, float]]:
    """Each seat's own network against the weakest engine, one game at a time, a fresh engine each."""
    out = {}
    for seat in get_game(game).seats:
        other = next(s for s in get_game(game).seats if s != seat)
        results = []
        for i in range(games):
            engine = make_bot(game, ENGINES[game], seed=i)
            try:
                results.append(play_match(game, {seat: agents[seat], other: engine}, seed=i))
            finally:
                getattr(engine, "close", lambda: None)()
        out[seat] = _summary(results, seat)
    return out


def _line(name: str, seat: str, m: dict[str, float]) -> str:
    return (
        f"  {seat} vs {name:<12} win {m['win']:.2f} draw {m['draw']:.2f} score {m['score']:.3f} "
        f"({int(m['n'])} games)"
    )


def run(game: str, minutes: float, clock_kind: str, games: int, engine_games: int, out: Path) -> None:
    clock = Clock(minutes, clock_kind)
    cfg = CONFIGS[game]
    print(
        f"\n{game}: pure self-play (ppo, {NETWORK}), {minutes:g} training minutes "
        f"({clock.describe()}), 2-core machine",
        flush=True,
    )

    def on_progress(p: dict[str, Any]) -> None:
        rates = " ".join(f"{s} {m.get('win_rate', 0):.2f}" for s, m in p["seats"].items())
        print(
            f"  {clock.minutes():5.2f} min {p['env_steps']:>8} steps {p['steps_per_second']:6.0f} steps/s  "
            f"win vs random (eval, {cfg['eval_games']} games) {rates}",
            flush=True,
        )

    result = train(
        {**cfg, "env_steps": 10**9}, out_dir=out / game, on_progress=on_progress, should_stop=clock.over
    )
    print(f"  trained {clock.minutes():.2f} min, {result.env_steps} self-play steps, {result.epochs} epochs")
    agents = {seat: load_agent(path, device="cpu") for seat, path in result.checkpoints.items()}
    t0 = time.perf_counter()
    key, target = TARGETS[game]
    for seat, m in against_random(game, agents, games).items():
        met = "met" if m[key] >= target else "MISSED"
        print(_line("random", seat, m) + f"  target {key} >= {target:.2f}: {met}")
    for seat, m in against_engine(game, agents, engine_games).items():
        print(_line(ENGINES[game], seat, m))
    print(f"  ({time.perf_counter() - t0:.0f} s to measure)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training minutes per game")
    parser.add_argument("--games", type=int, default=100, help="games a seat against random")
    parser.add_argument("--engine-games", type=int, default=10, help="games a seat against the engine")
    parser.add_argument("--only", choices=sorted(CONFIGS), default=None)
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="how training minutes are counted"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for game in [args.only] if args.only else sorted(CONFIGS):
            run(game, args.minutes, args.clock, args.games, args.engine_games, Path(tmp))


if __name__ == "__main__":
    main()
