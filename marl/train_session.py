"""One DQN/PPO run's Tianshou objects (``TrainSession``): an algorithm per seat, learning or a frozen
opponent, the multi-agent algorithm over them, its collector, evaluation and per-seat checkpoints; and
the checkpoints a run resumes from (``load_resume``). ``marl.train`` drives it epoch by epoch.

Tianshou is imported when a session is built (``marl._tianshou``), not with this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl.checkpoints import AGENT_KINDS, Checkpoint, load_checkpoint, read_meta, save_checkpoint
from marl.errors import CheckpointError, ConfigError
from marl.games import get_game
from marl.nets import build_critic, build_network, select_device
from marl.train_config import SELF, TrainConfig
from marl.train_eval import evaluate_seat, opponent_agents
from marl.train_watch import GameSampler, sample_training_game

EVAL_OPPONENT = "random"  # what pure self-play is measured against (evaluation only)
CheckpointFn = Callable[[str, Path, dict[str, Any]], None]


def load_resume(cfg: TrainConfig, resume_from: Mapping[str, Any] | None) -> dict[str, Checkpoint]:
    """The checkpoints a run continues from, by learning seat, each checked to fit the run and to carry
    its training state."""
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


class TrainSession:
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
            return ts.build_ppo(net, build_critic(cfg.network, spec.obs_shape, spec.n_actions), self.env, cfg)
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
