"""Training: ``TrainConfig``, ``train()`` and the ``python -m marl.train`` command line.

One Tianshou sub-algorithm per seat, combined with the multi-agent off-policy (DQN) or on-policy (PPO)
algorithm. Learning seats get DQN/PPO; other seats are frozen opponents (random, a bot or checkpoints
sampled from a pool; with ``opponent: "self"`` every seat learns and no bot plays). Algorithm ``az``
(expert iteration by self-play with search) has a loop of its own in ``marl.az``. After every epoch:
one checkpoint per learning seat, a quick evaluation through ``marl.match.play_matches``,
``on_progress`` and a ``should_stop`` check (cooperative cancel).

The Tianshou objects of a run are its ``marl.train_session.TrainSession``; Tianshou is imported lazily
(when a run builds one, via ``marl._tianshou``): importing this module costs torch, not Tianshou.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl.checkpoints import read_meta
from marl.errors import ConfigError, MarlError
from marl.games import get_game
from marl.train_config import ALGORITHMS, TrainConfig, TrainResult, mean_rates
from marl.train_session import CheckpointFn, TrainSession, load_resume
from marl.train_watch import SAMPLE_EVERY_S, GameSampler, SampleFn

__all__ = ["TrainConfig", "TrainResult", "train", "main"]

ProgressFn = Callable[[dict[str, Any]], None]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # Tianshou's epsilon-greedy draws from the global numpy RNG
    torch.manual_seed(seed)


def _progress(
    session: TrainSession,
    result: TrainResult,
    epoch: int,
    epochs: int,
    env_steps: int,
    per_seat: dict[str, dict[str, Any]],
    losses: dict[str, float],
    n_returns: int,
    t_epoch: float,
) -> dict[str, Any]:
    """What ``on_progress`` gets after an epoch: steps, rates, returns, losses, speed, checkpoints."""
    cfg, collector = session.cfg, session.collector
    elapsed = time.perf_counter() - t_epoch
    train_returns = collector.returns[n_returns:]
    progress = {
        "epoch": epoch,
        "epochs": epochs,
        "env_steps": env_steps,
        "total_env_steps": cfg.env_steps,
        "episodes": int(collector.collect_episode),
        **mean_rates(per_seat),
        "mean_return": float(np.mean(train_returns)) if train_returns else None,
        "losses": losses,
        "steps_per_second": (env_steps - result.env_steps) / elapsed if elapsed > 0 else 0.0,
        "seats": per_seat,
        "checkpoints": {s: str(p) for s, p in result.checkpoints.items()},
    }
    if cfg.algorithm == "dqn":
        progress["epsilon"] = cfg.epsilon_at(env_steps)
    return progress


def train(
    config: TrainConfig | Mapping[str, Any],
    *,
    out_dir: str | Path,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: CheckpointFn | None = None,
    resume_from: Mapping[str, str | Path] | None = None,
    on_sample: SampleFn | None = None,
    sample_every_s: float = SAMPLE_EVERY_S,
) -> TrainResult:
    """Train the learning seats of ``config``; write a checkpoint per learning seat every epoch.

    With ``on_sample``, one game of the current policy every ``sample_every_s`` seconds goes to it as
    plain values (``marl.train_watch``), for someone to watch the run play."""
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    sampler = None
    if on_sample is not None:
        sampler = GameSampler(get_game(cfg.game), on_sample, every_s=sample_every_s, seed=cfg.seed)
    if cfg.algorithm == "az":
        from marl.az import train_az  # lazy: the search loop is only needed by az runs

        hooks = {"on_progress": on_progress, "should_stop": should_stop, "on_checkpoint": on_checkpoint}
        return train_az(cfg, out_dir=out_dir, resume_from=resume_from, sampler=sampler, **hooks)
    if cfg.algorithm == "mccfr":
        from marl.regret_train import train_mccfr  # lazy: only mccfr runs walk the poker tree

        hooks = {"on_progress": on_progress, "should_stop": should_stop, "on_checkpoint": on_checkpoint}
        return train_mccfr(cfg, out_dir=out_dir, resume_from=resume_from, **hooks)
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = load_resume(cfg, resume_from)
    start_steps = max((c.meta["env_steps"] for c in resume.values()), default=0)
    result = TrainResult(config=cfg, env_steps=start_steps, epochs=0, stopped=False)
    if start_steps >= cfg.env_steps:
        return result
    seed = cfg.seed + start_steps  # a resumed run does not replay the random stream of its parent
    _seed_everything(seed)
    session = TrainSession(cfg, resume, seed, start_steps, sampler)
    trainer = session.trainer()
    epochs = math.ceil((cfg.env_steps - start_steps) / cfg.steps_per_epoch)
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        trainer.params.epoch_num_steps = min(cfg.steps_per_epoch, cfg.env_steps - result.env_steps)
        n_returns = len(session.collector.returns)
        losses = session.ts.epoch_losses(trainer.execute_epoch())
        env_steps = start_steps + session.collector.collect_step
        per_seat = session.checkpoint_all(out, epoch, env_steps, losses, on_checkpoint)
        result.checkpoints.update({seat: path for seat, (path, _) in per_seat.items()})
        metrics = {seat: m for seat, (_, m) in per_seat.items()}
        progress = _progress(session, result, epoch, epochs, env_steps, metrics, losses, n_returns, t_epoch)
        if result.epoch_end(progress, on_progress, should_stop):
            break
    result.wall_time_s = time.perf_counter() - t_start
    return result


# ------------------------------------------------------------------------------------------------ CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m marl.train", description="Train Arena agents with Tianshou.")
    p.add_argument("--game", required=True, help="tictactoe | connect_four")
    p.add_argument("--algo", default="dqn", choices=ALGORITHMS, help="learning algorithm")
    p.add_argument("--steps", type=int, required=True, help="total env steps (including resumed ones)")
    p.add_argument("--out", required=True, help="directory for checkpoints")
    p.add_argument(
        "--seat", default=None, help="learning seat (e.g. player_1) or 'both'; default: first seat"
    )
    p.add_argument(
        "--opponent", default="random", help="random | a bot (minimax, alphabeta:2) | pool | self (self-play)"
    )
    p.add_argument("--pool", nargs="*", default=[], help="opponent pool: checkpoint paths or bot names")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch-steps", type=int, default=None, help="env steps per epoch (one checkpoint each)")
    p.add_argument("--envs", type=int, default=None, help="parallel environments")
    p.add_argument("--eval-games", type=int, default=None, help="evaluation games per epoch")
    p.add_argument(
        "--resume", nargs="*", default=[], metavar="PATH", help="checkpoints to resume (one per seat)"
    )
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="any other TrainConfig field")
    return p


def _config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, dict[str, str]]:
    d: dict[str, Any] = {
        "game": args.game,
        "algorithm": args.algo,
        "env_steps": args.steps,
        "seed": args.seed,
    }
    d["opponent"] = args.opponent
    if args.pool:
        d["pool"] = args.pool
    if args.seat is not None:
        d["learn_seats"] = args.seat
    for key, value in (
        ("steps_per_epoch", args.epoch_steps),
        ("num_envs", args.envs),
        ("eval_games", args.eval_games),
    ):
        if value is not None:
            d[key] = value
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            d[key] = json.loads(value)
        except ValueError:
            d[key] = value
    if "steps_per_epoch" not in d:
        d["steps_per_epoch"] = max(1, min(TrainConfig.steps_per_epoch, args.steps))
    cfg = TrainConfig.from_dict(d)
    resume = {}
    for path in args.resume:
        resume[read_meta(path)["agent_id"]] = path
    return cfg, resume


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the process exit status (2 for invalid arguments)."""
    from tqdm import tqdm

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        cfg, resume = _config_from_args(args)
    except MarlError as exc:
        parser.error(str(exc))  # exits with status 2
    stop = {"requested": False}

    def on_sigint(signum: int, frame: Any) -> None:
        # First Ctrl-C: finish the epoch and its checkpoint, then stop. Second: the usual interrupt.
        stop["requested"] = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, on_sigint)
    bar = tqdm(total=cfg.env_steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def on_progress(p: dict[str, Any]) -> None:
        bar.n = p["env_steps"]
        win = p["win_rate"]
        bar.set_postfix(epoch=f"{p['epoch']}/{p['epochs']}", win="-" if win is None else f"{win:.2f}")
        bar.refresh()

    try:
        result = train(
            cfg,
            out_dir=args.out,
            on_progress=on_progress,
            should_stop=lambda: stop["requested"],
            resume_from=resume,
        )
    except MarlError as exc:
        bar.close()
        parser.error(str(exc))
    bar.close()
    final = result.final or {}
    seats = "; ".join(
        f"{s} win {m.get('win_rate', 0):.2f} draw {m.get('draw_rate', 0):.2f} loss {m.get('loss_rate', 0):.2f}"
        for s, m in final.get("seats", {}).items()
    )
    rate = (result.env_steps / result.wall_time_s) if result.wall_time_s else 0.0
    status = "stopped" if result.stopped else "done"
    print(
        f"{status}: {cfg.algorithm} on {cfg.game}, {result.env_steps} env steps, {result.epochs} epochs, "
        f"{result.wall_time_s:.1f} s ({rate:.0f} steps/s); vs {cfg.opponent}: {seats or 'no evaluation'}; "
        f"checkpoints: {', '.join(str(p) for p in result.checkpoints.values())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
