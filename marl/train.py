"""Training: ``TrainConfig``, ``train()`` and the ``python -m marl.train`` command line.

One Tianshou sub-algorithm per seat, combined with the multi-agent off-policy (DQN) or on-policy (PPO)
algorithm. Learning seats get DQN/PPO; other seats are frozen opponents (random, a bot or checkpoints
sampled from a pool; with ``opponent: "self"`` every seat learns and no bot plays). Algorithm ``az``
(expert iteration by self-play with search) has a loop of its own in ``marl.az``. After every epoch:
one checkpoint per learning seat, a quick evaluation through ``marl.match.play_matches``,
``on_progress`` and a ``should_stop`` check (cooperative cancel).

Tianshou is imported lazily (when a run builds its ``_Session``, via ``marl._tianshou``): importing this
module costs torch, not Tianshou.
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

from marl.checkpoints import AGENT_KINDS, Checkpoint, load_checkpoint, read_meta, save_checkpoint
from marl.errors import CheckpointError, ConfigError, MarlError
from marl.games import get_game
from marl.nets import build_critic, build_network, select_device
from marl.train_config import SELF, TrainConfig, TrainResult
from marl.train_eval import evaluate_seat, mean_rates, opponent_agents
from marl.train_watch import SAMPLE_EVERY_S, GameSampler, SampleFn, sample_training_game

__all__ = ["TrainConfig", "TrainResult", "train", "main"]

EVAL_OPPONENT = "random"  # what pure self-play is measured against (evaluation only)
ProgressFn = Callable[[dict[str, Any]], None]
CheckpointFn = Callable[[str, Path, dict[str, Any]], None]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # Tianshou's epsilon-greedy draws from the global numpy RNG
    torch.manual_seed(seed)


def _load_resume(cfg: TrainConfig, resume_from: Mapping[str, Any] | None) -> dict[str, Checkpoint]:
    out: dict[str, Checkpoint] = {}
    for agent_id, path in (resume_from or {}).items():
        if agent_id not in cfg.learn_seats:
            raise ConfigError(f"cannot resume {agent_id}: it is not a learning seat ({cfg.learn_seats})")
        ckpt = load_checkpoint(path, game=cfg.game)
        meta = ckpt.meta
        if meta["agent_id"] != agent_id:
            raise CheckpointError(f"{ckpt.path.name} belongs to {meta['agent_id']}, not {agent_id}")
        if meta["algorithm"] != cfg.algorithm or meta["network"] != cfg.network:
            raise ConfigError(
                f"{ckpt.path.name} is {meta['algorithm']} {meta['network']}; this run is {cfg.algorithm} {cfg.network}"
            )
        if ckpt.state is None:
            raise CheckpointError(f"{ckpt.path.name} has no training state to resume from")
        out[agent_id] = ckpt
    return out


class _Session:
    """The Tianshou objects of one run: an algorithm per seat (learning, or a frozen opponent), the
    multi-agent algorithm over them, its collector, and the per-seat checkpoint lineage."""

    def __init__(
        self,
        cfg: TrainConfig,
        resume: dict[str, Checkpoint],
        seed: int,
        start_steps: int,
        sampler: GameSampler | None = None,
    ) -> None:
        from marl import _tianshou as ts  # lazy: ~3 s and ~380 MB, only where training happens

        self.ts, self.cfg, self.start_steps = ts, cfg, start_steps
        self.sampler = sampler
        self.spec = get_game(cfg.game)
        self.env = ts.make_env(self.spec, cfg.fast_env)
        # Pure self-play has no opponent in training; its greedy policy is measured against random.
        self.opponents = (
            cfg.pool if cfg.opponent == "pool" else [EVAL_OPPONENT if cfg.opponent == SELF else cfg.opponent]
        )
        self.nets: dict[
            str, torch.nn.Module
        ] = {}  # inference network per learning seat (what checkpoints hold)
        self.frozen: list[Any] = []
        algorithms = [self._seat_algorithm(i, seat, seed) for i, seat in enumerate(self.env.agents)]
        # Evaluation gets its own opponent objects: play_matches re-seeds agents, training's must not be.
        self.eval_opponents = opponent_agents(cfg, self.opponents, seed + 104_729) if cfg.eval_games else []
        marl = ts.MarlOffPolicy if cfg.algorithm == "dqn" else ts.MarlOnPolicy
        self.algorithm = marl(algorithms=algorithms, env=self.env)
        self.algorithm.to(select_device(cfg.device))
        for agent_id, ckpt in resume.items():
            ts.load_agent_state(self.algorithm, agent_id, ckpt.state)
        self.parents = {aid: (c.name, c.meta["sha256"]) for aid, c in resume.items()}
        self.collector = self._collector(seed)

    def _seat_algorithm(self, i: int, seat: str, seed: int) -> Any:
        """DQN or PPO for a learning seat; otherwise a frozen policy over the opponents."""
        ts, cfg, spec = self.ts, self.cfg, self.spec
        if seat in cfg.learn_seats:
            net = self.nets[seat] = build_network(cfg.network, spec.obs_shape, spec.n_actions)
            if cfg.algorithm == "dqn":
                return ts.build_dqn(net, self.env, cfg)
            return ts.build_ppo(net, build_critic(cfg.network, spec.obs_shape), self.env, cfg)
        agents = opponent_agents(cfg, self.opponents, seed + 7919 * (i + 1))
        policy = ts.FrozenAgentPolicy(
            self.env.action_space, agents, cfg.pool_weights, np.random.default_rng(seed + i)
        )
        self.frozen.append(policy)
        return ts.FrozenOffPolicy(policy) if cfg.algorithm == "dqn" else ts.FrozenOnPolicy(policy)

    def _collector(self, seed: int) -> Any:
        ts, cfg = self.ts, self.cfg
        if cfg.algorithm == "dqn":
            buffer_size = max(cfg.buffer_size, cfg.num_envs)
        else:  # room for every episode of one collect step in each env's sub-buffer
            buffer_size = cfg.episode_per_collect * self.spec.max_moves * cfg.num_envs
        return ts.StatsCollector(
            self.algorithm,
            ts.make_vector_env(self.spec, cfg.num_envs, seed, cfg.fast_env),
            ts.NoNanCheckBuffer(buffer_size, cfg.num_envs, seed),
            exploration_noise=True,
            seat_columns=[self.env.agent_idx[s] for s in cfg.learn_seats],
        )

    def trainer(self) -> Any:
        trainer = self.algorithm.create_trainer(
            self.ts.trainer_params(self.cfg, self.collector, self.before_collect)
        )
        trainer.reset()
        return trainer

    def before_collect(self, epoch: int, env_step: int) -> None:
        """Called before every collect: the pool opponent is resampled here (PFSP weights), and the
        DQN exploration rate follows a linear schedule over global env steps; a game to watch is
        sampled when one is due."""
        cfg, sampler, steps = self.cfg, self.sampler, self.start_steps + env_step
        for policy in self.frozen:
            policy.resample()
        if cfg.algorithm == "dqn":
            eps = cfg.epsilon_at(steps)
            for seat in cfg.learn_seats:
                self.ts.set_eps_training(self.algorithm.get_algorithm(seat), eps)
        if sampler is not None and sampler.due():
            sampler.guarded(lambda: sample_training_game(sampler, cfg, self.nets, self.opponents, steps))

    def evaluate(self, seat: str, epoch: int) -> dict[str, Any]:
        cfg = self.cfg
        seed = cfg.seed * 1_000_003 + epoch * 10_007
        kind = AGENT_KINDS[cfg.algorithm]
        return evaluate_seat(
            self.spec, seat, self.nets[seat], kind, self.eval_opponents, cfg.eval_games, seed
        )

    def save(
        self, out: Path, seat: str, env_steps: int, metrics: dict[str, Any]
    ) -> tuple[Path, dict[str, Any]]:
        """Write the seat's checkpoint (weights, training state, sidecar); its path and stored sidecar."""
        cfg, spec, parent = self.cfg, self.spec, self.parents.get(seat)
        name = f"{seat}-{env_steps:09d}"
        meta = {
            "game": spec.name,
            "env_id": spec.env_id,
            "algorithm": cfg.algorithm,
            "network": cfg.network,
            "agent_id": seat,
            "env_steps": env_steps,
            "parent": parent[0] if parent else None,
            "parent_sha256": parent[1] if parent else None,
            "metrics": {**metrics, "eval_opponent": self.opponents},
            "train_config": cfg.to_dict(),
        }
        state = self.ts.agent_state(self.algorithm, seat)
        path = save_checkpoint(out, name, weights=self.nets[seat].state_dict(), state=state, meta=meta)
        meta = read_meta(path)
        self.parents[seat] = (name, meta["sha256"])
        return path, meta

    def checkpoint_all(
        self,
        out: Path,
        epoch: int,
        env_steps: int,
        losses: dict[str, float],
        on_checkpoint: CheckpointFn | None,
    ) -> dict[str, tuple[Path, dict[str, Any]]]:
        """Evaluate and save every learning seat; each seat's checkpoint path and metrics."""
        saved = {}
        for seat in self.cfg.learn_seats:
            metrics = self.evaluate(seat, epoch)
            metrics["losses"] = {k: v for k, v in losses.items() if k.startswith(f"{seat}/")}
            path, meta = self.save(out, seat, env_steps, metrics)
            saved[seat] = (path, metrics)
            if on_checkpoint is not None:
                on_checkpoint(seat, path, meta)
        return saved


def _progress(
    session: _Session,
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
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = _load_resume(cfg, resume_from)
    start_steps = max((c.meta["env_steps"] for c in resume.values()), default=0)
    result = TrainResult(config=cfg, env_steps=start_steps, epochs=0, stopped=False)
    if start_steps >= cfg.env_steps:
        return result
    seed = cfg.seed + start_steps  # a resumed run does not replay the random stream of its parent
    _seed_everything(seed)
    session = _Session(cfg, resume, seed, start_steps, sampler)
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
    p.add_argument("--algo", default="dqn", choices=sorted(AGENT_KINDS), help="learning algorithm")
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
