"""Training: ``TrainConfig``, ``train()`` and the ``python -m marl.train`` command line.

One Tianshou sub-algorithm per seat, combined with the multi-agent off-policy (DQN) or on-policy (PPO)
algorithm. Learning seats get DQN/PPO; other seats are frozen opponents (random, a bot or checkpoints
sampled from a pool). After every epoch: one checkpoint per learning seat, a quick evaluation through
``marl.match.play_matches``, ``on_progress`` and a ``should_stop`` check (cooperative cancel).

Tianshou is imported lazily (inside ``train``, via ``marl._tianshou``) so that validating a
``TrainConfig`` in the web process stays cheap.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl.checkpoints import AGENT_KINDS, Checkpoint, load_agent, load_checkpoint, read_meta, save_checkpoint
from marl.errors import CheckpointError, ConfigError, MarlError
from marl.games import GameSpec, get_game
from marl.nets import build_critic, build_network, select_device
from marl.train_config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train", "main"]

ProgressFn = Callable[[dict[str, Any]], None]
CheckpointFn = Callable[[str, Path, dict[str, Any]], None]


@dataclass
class TrainResult:
    """What a run produced: the latest checkpoint per learning seat and the per-epoch progress."""

    config: TrainConfig
    env_steps: int
    epochs: int
    stopped: bool  # True when should_stop() ended the run early
    checkpoints: dict[str, Path] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def final(self) -> dict[str, Any] | None:
        return self.history[-1] if self.history else None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # Tianshou's epsilon-greedy draws from the global numpy RNG
    torch.manual_seed(seed)


def _opponent_agents(cfg: TrainConfig, names: list[str], seed: int) -> list[Any]:
    """Agents for bot names and checkpoint paths (pool members are greedy PolicyAgents on CPU)."""
    from marl.bots import make_bot

    agents = []
    for i, name in enumerate(names):
        if TrainConfig.is_bot_name(cfg.game, name):
            agents.append(make_bot(cfg.game, name, seed=seed + i))
        else:
            agents.append(load_agent(name, device="cpu"))
    return agents


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


def _rates(results: list[Any], seat: str) -> dict[str, float]:
    n = max(len(results), 1)
    wins = sum(r.winner == seat for r in results)
    draws = sum(r.winner is None for r in results)
    return {
        "win_rate": wins / n,
        "draw_rate": draws / n,
        "loss_rate": (len(results) - wins - draws) / n,
        "mean_return": float(np.mean([r.returns[seat] for r in results])) if results else 0.0,
        "games": len(results),
    }


def _evaluate(
    spec: GameSpec, seat: str, net: torch.nn.Module, kind: str, opponents: list[Any], games: int, seed: int
) -> dict[str, float]:
    """Greedy current weights vs the opponent(s), batched; games are split evenly across pool members."""
    from marl.agents import PolicyAgent
    from marl.match import play_matches

    if games <= 0 or not opponents:
        return {}
    # A CPU copy: evaluation never disturbs the training module (mode, device, autograd).
    me = PolicyAgent(copy.deepcopy(net).cpu(), kind=kind, device="cpu")
    results = []
    for i, opp in enumerate(opponents):
        n = games // len(opponents) + (1 if i < games % len(opponents) else 0)
        if n == 0:
            continue
        agents = {s: (me if s == seat else opp) for s in spec.seats}
        results += play_matches(spec, agents, [seed + i * 100_003 + g for g in range(n)])
    return _rates(results, seat)


def train(
    config: TrainConfig | Mapping[str, Any],
    *,
    out_dir: str | Path,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: CheckpointFn | None = None,
    resume_from: Mapping[str, str | Path] | None = None,
) -> TrainResult:
    """Train the learning seats of ``config``; write a checkpoint per learning seat every epoch."""
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    from marl import _tianshou as ts  # lazy: ~3 s and ~380 MB, only where training happens

    t_start = time.perf_counter()
    spec = get_game(cfg.game)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = _load_resume(cfg, resume_from)
    start_steps = max((c.meta["env_steps"] for c in resume.values()), default=0)
    result = TrainResult(config=cfg, env_steps=start_steps, epochs=0, stopped=False)
    if start_steps >= cfg.env_steps:
        return result
    seed = cfg.seed + start_steps  # a resumed run does not replay the random stream of its parent
    _seed_everything(seed)
    device = select_device(cfg.device)

    env = ts.make_env(spec)
    kind = AGENT_KINDS[cfg.algorithm]
    nets: dict[str, torch.nn.Module] = {}  # inference network per learning seat (what checkpoints hold)
    frozen: list[Any] = []
    algorithms = []
    opp_names = cfg.pool if cfg.opponent == "pool" else [cfg.opponent]
    for i, seat in enumerate(env.agents):
        if seat in cfg.learn_seats:
            net = build_network(cfg.network, spec.obs_shape, spec.n_actions)
            nets[seat] = net
            if cfg.algorithm == "dqn":
                algorithms.append(ts.build_dqn(net, env, cfg))
            else:
                algorithms.append(ts.build_ppo(net, build_critic(cfg.network, spec.obs_shape), env, cfg))
        else:
            agents = _opponent_agents(cfg, opp_names, seed + 7919 * (i + 1))
            policy = ts.FrozenAgentPolicy(
                env.action_space, agents, cfg.pool_weights, np.random.default_rng(seed + i)
            )
            frozen.append(policy)
            algorithms.append(
                ts.FrozenOffPolicy(policy) if cfg.algorithm == "dqn" else ts.FrozenOnPolicy(policy)
            )
    # Evaluation gets its own opponent objects: play_matches re-seeds agents, training's must not be.
    eval_opponents = _opponent_agents(cfg, opp_names, seed + 104_729)
    marl_algo = (ts.MarlOffPolicy if cfg.algorithm == "dqn" else ts.MarlOnPolicy)(
        algorithms=algorithms, env=env
    )
    marl_algo.to(device)
    for agent_id, ckpt in resume.items():
        ts.load_agent_state(marl_algo, agent_id, ckpt.state)
    parents = {aid: (c.name, c.meta["sha256"]) for aid, c in resume.items()}

    if cfg.algorithm == "dqn":
        buffer_size = max(cfg.buffer_size, cfg.num_envs)
    else:  # room for every episode of one collect step in each env's sub-buffer
        buffer_size = cfg.episode_per_collect * spec.max_moves * cfg.num_envs
    columns = [env.agent_idx[s] for s in cfg.learn_seats]
    collector = ts.StatsCollector(
        marl_algo,
        ts.make_vector_env(spec, cfg.num_envs, seed),
        ts.NoNanCheckBuffer(buffer_size, cfg.num_envs, seed),
        exploration_noise=True,
        seat_columns=columns,
    )

    def training_fn(epoch: int, env_step: int) -> None:
        # Called before every collect: the pool opponent is resampled here (PFSP weights), and
        # the DQN exploration rate follows a linear schedule over global env steps.
        for policy in frozen:
            policy.resample()
        if cfg.algorithm == "dqn":
            eps = cfg.epsilon_at(start_steps + env_step)
            for seat in cfg.learn_seats:
                ts.set_eps_training(marl_algo.get_algorithm(seat), eps)

    trainer = marl_algo.create_trainer(ts.trainer_params(cfg, collector, training_fn))
    trainer.reset()
    epochs = math.ceil((cfg.env_steps - start_steps) / cfg.steps_per_epoch)
    env_steps = start_steps
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        trainer.params.epoch_num_steps = min(cfg.steps_per_epoch, cfg.env_steps - env_steps)
        n_returns = len(collector.returns)
        stats = trainer.execute_epoch()
        env_steps = start_steps + collector.collect_step
        train_returns = collector.returns[n_returns:]
        losses: dict[str, float] = {}
        if stats.training_stat is not None:
            raw = stats.training_stat.smoothed_loss or stats.training_stat.get_loss_stats_dict()
            losses = {k: float(v) for k, v in raw.items()}
        per_seat: dict[str, dict[str, Any]] = {}
        for seat in cfg.learn_seats:
            metrics = _evaluate(
                spec,
                seat,
                nets[seat],
                kind,
                eval_opponents,
                cfg.eval_games,
                cfg.seed * 1_000_003 + epoch * 10_007,
            )
            metrics["losses"] = {k: v for k, v in losses.items() if k.startswith(f"{seat}/")}
            name = f"{seat}-{env_steps:09d}"
            parent = parents.get(seat)
            meta = {
                "game": spec.name,
                "env_id": spec.env_id,
                "algorithm": cfg.algorithm,
                "network": cfg.network,
                "agent_id": seat,
                "env_steps": env_steps,
                "parent": parent[0] if parent else None,
                "parent_sha256": parent[1] if parent else None,
                "metrics": {**metrics, "eval_opponent": opp_names},
                "train_config": cfg.to_dict(),
            }
            path = save_checkpoint(
                out, name, weights=nets[seat].state_dict(), state=ts.agent_state(marl_algo, seat), meta=meta
            )
            meta = read_meta(path)
            parents[seat] = (name, meta["sha256"])
            result.checkpoints[seat] = path
            per_seat[seat] = metrics
            if on_checkpoint is not None:
                on_checkpoint(seat, path, meta)
        elapsed = time.perf_counter() - t_epoch
        progress = {
            "epoch": epoch,
            "epochs": epochs,
            "env_steps": env_steps,
            "total_env_steps": cfg.env_steps,
            "episodes": int(collector.collect_episode),
            **_mean_rates(per_seat),
            "mean_return": float(np.mean(train_returns)) if train_returns else None,
            "losses": losses,
            "steps_per_second": (env_steps - result.env_steps) / elapsed if elapsed > 0 else 0.0,
            "seats": per_seat,
            "checkpoints": {s: str(p) for s, p in result.checkpoints.items()},
        }
        if cfg.algorithm == "dqn":
            progress["epsilon"] = cfg.epsilon_at(env_steps)
        result.env_steps, result.epochs = env_steps, epoch
        result.history.append(progress)
        if on_progress is not None:
            on_progress(progress)
        if should_stop is not None and should_stop():
            result.stopped = epoch < epochs
            break
    result.wall_time_s = time.perf_counter() - t_start
    return result


def _mean_rates(per_seat: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    keys = ("win_rate", "draw_rate", "loss_rate")
    rows = [m for m in per_seat.values() if "win_rate" in m]
    return {k: (float(np.mean([m[k] for m in rows])) if rows else None) for k in keys}


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
    p.add_argument("--opponent", default="random", help="random | a bot (minimax, alphabeta:2) | pool")
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
    import json

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
