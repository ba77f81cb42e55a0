"""The training loop of ``algorithm: "mccfr"`` (``marl.regret``): iterations, checkpoints, progress.

Each epoch runs MCCFR iterations until the traversals have played ``steps_per_epoch`` moves, then
writes one checkpoint (the average policy, for every seat: the table is keyed by information state,
so one policy serves both) and reports the policy's exact exploitability and, as every run does, its
score against ``random`` in each seat (evaluation only; no bot plays in training).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl.agents import RandomAgent
from marl.az import start_shared
from marl.checkpoints import read_meta, save_checkpoint
from marl.games import get_game
from marl.match import play_matches
from marl.regret import WEIGHTS_KEY, Mccfr, TableAgent, exploitability_of, table_spec
from marl.train_config import TrainConfig, TrainResult
from marl.train_eval import rates

EVAL_OPPONENT = "random"


def _evaluate(cfg: TrainConfig, agent: TableAgent, seed: int) -> dict[str, dict[str, Any]]:
    """The average policy against random in each seat, ``eval_games`` hands a seat."""
    spec = get_game(cfg.game)
    out: dict[str, dict[str, Any]] = {}
    for i, seat in enumerate(spec.seats):
        if not cfg.eval_games:
            out[seat] = {}
            continue
        opponent = RandomAgent(seed + i)
        agents = {s: (agent if s == seat else opponent) for s in spec.seats}
        out[seat] = rates(
            play_matches(spec, agents, [seed + i * 100_003 + g for g in range(cfg.eval_games)]), seat
        )
    return out


def _save(
    cfg: TrainConfig,
    out: Path,
    learner: Mccfr,
    env_steps: int,
    metrics: dict[str, Any],
    parent: tuple[str, str] | None,
) -> tuple[Path, dict[str, Any]]:
    spec = get_game(cfg.game)
    meta = {
        "game": spec.name,
        "env_id": spec.env_id,
        "algorithm": "mccfr",
        "network": table_spec(cfg.game),
        "agent_id": spec.seats[0],  # the first seat it serves; "seats" lists them all
        "seats": list(spec.seats),
        "env_steps": env_steps,
        "parent": parent[0] if parent else None,
        "parent_sha256": parent[1] if parent else None,
        "metrics": {**metrics, "eval_opponent": [EVAL_OPPONENT]},
        "train_config": cfg.to_dict(),
    }
    weights = {WEIGHTS_KEY: torch.from_numpy(learner.average_policy().astype(np.float32))}
    path = save_checkpoint(out, f"mccfr-{env_steps:09d}", weights=weights, state=learner.state(), meta=meta)
    return path, read_meta(path)


def train_mccfr(
    cfg: TrainConfig,
    *,
    out_dir: str | Path,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[str, Path, dict[str, Any]], None] | None = None,
    resume_from: Mapping[str, str | Path] | None = None,
) -> TrainResult:
    """MCCFR by self-play; one checkpoint per epoch, reported once per seat it serves."""
    t_start = time.perf_counter()
    out, ckpt, result = start_shared(cfg, out_dir, resume_from)
    start = result.env_steps
    if start >= cfg.env_steps:
        return result
    rng = np.random.default_rng(cfg.seed + start)  # a resumed run does not replay its parent's stream
    learner = Mccfr(cfg.game)
    parent = None
    if ckpt is not None:
        learner.load(ckpt.state, ckpt.path.name)
        parent = (ckpt.name, ckpt.meta["sha256"])
    epochs = math.ceil((cfg.env_steps - start) / cfg.steps_per_epoch)
    iterations = 0
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        before, target = learner.moves, min(cfg.steps_per_epoch, cfg.env_steps - result.env_steps)
        while learner.moves - before < target:
            learner.iterate(rng)
            iterations += 1
        moves = learner.moves - before
        env_steps = result.env_steps + moves
        elapsed = time.perf_counter() - t_epoch  # the learning alone; evaluation is timed apart
        probs = learner.average_policy()
        value = exploitability_of(probs, cfg.game)
        per_seat = _evaluate(cfg, TableAgent(probs, cfg.game), cfg.seed * 1_000_003 + epoch * 10_007)
        metrics = {"exploitability": value, "iterations": iterations, "seats": per_seat}
        path, meta = _save(cfg, out, learner, env_steps, metrics, parent)
        parent = (path.name[: -len(".safetensors")], meta["sha256"])
        progress = result.shared_epoch(
            path,
            meta,
            on_checkpoint,
            epoch=epoch,
            epochs=epochs,
            env_steps=env_steps,
            episodes=iterations,
            losses={},
            exploitability=value,
            seats=per_seat,
            moves=moves,
            elapsed=elapsed,
        )
        if result.epoch_end(progress, on_progress, should_stop):
            break
    result.wall_time_s = time.perf_counter() - t_start
    return result
