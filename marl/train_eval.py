"""What a training run measures each epoch: its greedy policy against the opponents, in batched games.

Also the opponents themselves (bots by name, pool checkpoints by path), built the same way for the
frozen seats of training and for evaluation.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from marl.agents import PolicyAgent
from marl.bots import make_bot
from marl.checkpoints import load_agent
from marl.games import GameSpec
from marl.match import play_matches
from marl.train_config import TrainConfig


def opponent_agents(cfg: TrainConfig, names: list[str], seed: int) -> list[Any]:
    """Agents for bot names and checkpoint paths (pool members are greedy PolicyAgents on CPU)."""
    agents = []
    for i, name in enumerate(names):
        if TrainConfig.is_bot_name(cfg.game, name):
            agents.append(make_bot(cfg.game, name, seed=seed + i))
        else:
            agents.append(load_agent(name, device="cpu"))
    return agents


def rates(results: list[Any], seat: str) -> dict[str, float]:
    """Win, draw and loss rates and the mean return of `seat` over finished games."""
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


def evaluate_seat(
    spec: GameSpec, seat: str, net: torch.nn.Module, kind: str, opponents: list[Any], games: int, seed: int
) -> dict[str, float]:
    """Greedy current weights vs the opponent(s), batched; games are split evenly across pool members."""
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
    return rates(results, seat)
