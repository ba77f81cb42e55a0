"""Monte Carlo tree search at play time, on the fast game cores.

Two leaf evaluators share one tree search:

- ``RolloutEvaluator``: uniform prior, value from one random playout; selection is UCT. This is the
  pure ``mcts:N`` bot.
- ``NetworkEvaluator``: a checkpoint's network as prior (PPO policy, or a softmax over DQN's
  Q-values) and as value (PPO critic, or DQN's best Q-value), both clipped to [-1, 1]; selection
  is PUCT as in AlphaZero. This is the ``<checkpoint> + mcts:N`` player.

Every value is from the point of view of the seat to move at that node. A search is deterministic
for a given seed (rollouts draw from a seeded ``random.Random``; the network search draws nothing).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from marl.errors import ConfigError, MarlError
from marl.fastgames import FastGame, fast_game

if TYPE_CHECKING:
    import torch


MAX_SIMULATIONS = 100_000
C_UCT = 1.4  # exploration constant of UCT with values in [-1, 1]
C_PUCT = 1.5  # exploration constant of PUCT (scales the prior term)
Q_PRIOR_TEMPERATURE = 0.1  # DQN's Q-values lie in [-1, 1]: a low temperature keeps their order sharp


class Evaluator(Protocol):
    """Scores a non-terminal position for the seat to move."""

    def evaluate(self, game: FastGame, actions: list[int]) -> tuple[list[float] | None, float]:
        """A prior over ``actions`` (``None``: uniform, select by UCT) and a value in [-1, 1]."""
        ...

    def reset(self, seed: int | None) -> None:
        """Re-seed any randomness."""
        ...


def terminal_value(game: FastGame) -> float:
    """The outcome of a finished game for the seat that would move next: the last mover won or drew."""
    return -1.0 if game.winner is not None else 0.0


class RolloutEvaluator:
    """Value from one uniformly random playout to the end of the game."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(0 if seed is None else seed)

    def reset(self, seed: int | None) -> None:
        """Re-seed the playouts when a seed is given."""
        if seed is not None:
            self.rng = random.Random(seed)

    def evaluate(self, game: FastGame, actions: list[int]) -> tuple[None, float]:
        """No prior; the playout's result for the seat to move."""
        seat = game.to_move
        sim = game.clone()
        choice = self.rng.choice
        while not sim.terminal:
            sim.play(choice(sim.legal_actions()))
        return None, float(sim.reward(seat))


class NetworkEvaluator:
    """Prior and value from a scoring network (``kind`` ``"logits"`` or ``"q"``) and an optional critic.

    Without a critic a policy network gives value 0 at the leaves, so the search leans on terminal
    positions and the prior alone.
    """

    def __init__(self, network: torch.nn.Module, kind: str, critic: torch.nn.Module | None = None) -> None:
        if kind not in ("q", "logits"):
            raise MarlError(f"kind must be 'q' or 'logits', got {kind!r}")
        self.network = network.eval()
        self.critic = critic.eval() if critic is not None else None
        self.kind = kind

    def reset(self, seed: int | None) -> None:
        """A network search draws no random numbers."""

    def evaluate(self, game: FastGame, actions: list[int]) -> tuple[list[float], float]:
        """Softmax prior over ``actions`` and a clipped value for the seat to move."""
        import torch

        with torch.inference_mode():
            obs = torch.as_tensor(game.observation()[None], dtype=torch.float32)
            scores = self.network(obs)[0, actions].double()
            if self.kind == "q":
                prior = torch.softmax(scores / Q_PRIOR_TEMPERATURE, dim=0)
                value = float(scores.max())
            else:
                prior = torch.softmax(scores, dim=0)
                value = float(self.critic(obs)[0, 0]) if self.critic is not None else 0.0
        return prior.tolist(), min(1.0, max(-1.0, value))


class _Node:
    """Edge statistics of one expanded position, indexed like ``actions``."""

    __slots__ = ("actions", "prior", "visits", "value_sum", "children", "total")

    def __init__(self, actions: list[int], prior: list[float] | None) -> None:
        self.actions = actions
        self.prior = prior
        self.visits = [0] * len(actions)
        self.value_sum = [0.0] * len(actions)  # for the seat to move here
        self.children: list[_Node | None] = [None] * len(actions)
        self.total = 0

    def select(self) -> int:
        """The edge to follow: UCT without a prior (unvisited edges first), PUCT with one."""
        visits, value_sum, total = self.visits, self.value_sum, self.total
        best, best_score = 0, -math.inf
        if self.prior is None:
            log_total = math.log(total) if total else 0.0
            for i, n in enumerate(visits):
                if n == 0:
                    return i
                score = value_sum[i] / n + C_UCT * math.sqrt(log_total / n)
                if score > best_score:
                    best, best_score = i, score
            return best
        scale = C_PUCT * math.sqrt(total + 1)
        for i, (n, p) in enumerate(zip(visits, self.prior, strict=True)):
            score = (value_sum[i] / n if n else 0.0) + scale * p / (1 + n)
            if score > best_score:
                best, best_score = i, score
        return best


@dataclass(frozen=True)
class SearchResult:
    """What one search found: the chosen action, visits and visit shares per action, the root value."""

    action: int
    visits: np.ndarray
    shares: np.ndarray  # visits / simulations; NaN for illegal actions
    root_value: float  # expected outcome for the seat to move, in [-1, 1]


class MCTS:
    """A tree search over a fast game core with a fixed budget of ``simulations`` per move."""

    def __init__(self, evaluator: Evaluator, simulations: int) -> None:
        if isinstance(simulations, bool) or not 1 <= int(simulations) <= MAX_SIMULATIONS:
            raise ConfigError(f"simulations must be in 1..{MAX_SIMULATIONS}, got {simulations!r}")
        self.evaluator = evaluator
        self.simulations = int(simulations)

    def _expand(self, game: FastGame, actions: list[int]) -> tuple[_Node, float]:
        prior, value = self.evaluator.evaluate(game, actions)
        return _Node(actions, prior), value

    def _simulate(self, root: _Node, game: FastGame) -> None:
        """One selection, expansion, evaluation and backup; ``game`` is a copy of the root position."""
        node, path = root, []
        while True:
            i = node.select()
            path.append((node, i))
            game.play(node.actions[i])
            child = node.children[i]
            if game.terminal:
                value = terminal_value(game)
                break
            if child is None:
                node.children[i], value = self._expand(game, game.legal_actions())
                break
            node = child
        for parent, i in reversed(path):
            value = -value  # the edge's statistics belong to the seat that moved along it
            parent.visits[i] += 1
            parent.value_sum[i] += value
            parent.total += 1

    def search(
        self,
        game: FastGame,
        actions: list[int],
        root_noise: Callable[[list[float]], list[float]] | None = None,
    ) -> SearchResult:
        """Search from ``game`` among ``actions`` and pick the most visited one (ties: best value).

        ``root_noise`` reshapes the root's prior (self-play training mixes in Dirichlet noise there so
        that every opening move keeps being tried); it is ignored under UCT, which has no prior.
        """
        if game.terminal or not actions:
            raise MarlError("cannot search a finished game or a position without legal actions")
        root, _ = self._expand(game, actions)
        if root_noise is not None and root.prior is not None:
            root.prior = root_noise(root.prior)
        for _ in range(self.simulations):
            self._simulate(root, game.clone())
        visits = np.zeros(game.n_actions, dtype=np.int64)
        visits[actions] = root.visits
        values = [w / n if n else -math.inf for w, n in zip(root.value_sum, root.visits, strict=True)]
        best = max(range(len(actions)), key=lambda i: (root.visits[i], values[i], -actions[i]))
        shares = np.full(game.n_actions, np.nan)
        shares[actions] = np.asarray(root.visits) / root.total
        return SearchResult(
            action=actions[best], visits=visits, shares=shares, root_value=sum(root.value_sum) / root.total
        )


class SearchAgent:
    """An agent that searches every move: ``act`` plays the most visited action of an ``MCTS``.

    ``last_search`` keeps the latest ``SearchResult`` (visit shares and root value for a heat map).
    """

    def __init__(self, game: str, evaluator: Evaluator, simulations: int, seed: int | None = None) -> None:
        self.core = fast_game(game)
        self.mcts = MCTS(evaluator, simulations)
        self.last_search: SearchResult | None = None
        evaluator.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the evaluator's randomness; the tree is rebuilt every move anyway."""
        self.mcts.evaluator.reset(seed)

    def search(self, observation: np.ndarray, action_mask: np.ndarray) -> SearchResult:
        """Search the observed position among the actions the mask allows."""
        game = self.core.from_observation(observation)
        allowed = np.flatnonzero(np.asarray(action_mask))
        legal = game.legal_actions()
        if not allowed.size:
            raise MarlError("an action mask has no legal action")
        if not set(allowed.tolist()) <= set(legal):
            raise MarlError(f"the action mask allows {allowed.tolist()}, but only {legal} are legal here")
        self.last_search = self.mcts.search(game, [int(a) for a in allowed])
        return self.last_search

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """The most visited legal action."""
        return self.search(observation, action_mask).action

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Search is per position: one ``act`` per row."""
        return np.array([self.act(o, m) for o, m in zip(observations, masks, strict=True)], dtype=np.int64)

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Visit shares per action (NaN for illegal ones)."""
        return self.search(observation, action_mask).shares


def rollout_agent(game: str, simulations: int, seed: int | None = None) -> SearchAgent:
    """The pure ``mcts:N`` bot: UCT with random playouts."""
    return SearchAgent(game, RolloutEvaluator(seed), simulations, seed)


def network_evaluator(path: str | Path, game: str | None = None) -> NetworkEvaluator:
    """A CPU ``NetworkEvaluator`` from a checkpoint: its policy or Q-network, and PPO's critic if saved."""
    from marl.checkpoints import AGENT_KINDS, critic_from_checkpoint, load_checkpoint, network_from_checkpoint

    ckpt = load_checkpoint(path, game=game)
    kind = AGENT_KINDS.get(ckpt.meta["algorithm"])
    if kind is None:
        raise MarlError(f"checkpoint algorithm {ckpt.meta['algorithm']!r} has no playable agent")
    network = network_from_checkpoint(ckpt, "cpu")
    critic = None
    if kind == "logits":
        critic = critic_from_checkpoint(ckpt)
    return NetworkEvaluator(network, kind, critic)


# ------------------------------------------------------------------------------------ player specs
_SEARCH_SUFFIX = re.compile(r"^(?P<base>.*\S)\s*\+\s*mcts:(?P<n>\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PlayerSpec:
    """A player as written by a person: a bot name or checkpoint path, optionally with search on top."""

    base: str
    simulations: int | None = None

    def __str__(self) -> str:
        return self.base if self.simulations is None else f"{self.base} + mcts:{self.simulations}"


def parse_player(text: str) -> PlayerSpec:
    """Split ``"<player> + mcts:N"`` into the player and the budget; anything else is a plain player."""
    match = _SEARCH_SUFFIX.match(text.strip())
    if match is None:
        return PlayerSpec(text.strip())
    simulations = int(match.group("n"))
    if not 1 <= simulations <= MAX_SIMULATIONS:
        raise ConfigError(f"mcts simulations must be in 1..{MAX_SIMULATIONS}, got {simulations}")
    return PlayerSpec(match.group("base"), simulations)


def checkpoint_search_agent(game: str, path: str | Path, simulations: int) -> SearchAgent:
    """A checkpoint with PUCT search on top: ``<checkpoint> + mcts:N``."""
    return SearchAgent(game, network_evaluator(path, game=game), simulations)
