"""Self-play games with PUCT search on the fast game cores: the data of expert iteration (``marl.az``).

One network plays every seat (PettingZoo classic observations are from the mover's side). Each move
records the position, its action mask, the search's visit shares (the policy target) and, once the
game ends, the outcome for the seat that moved (the value target). No bot takes part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from marl.fastgames import FastGame, fast_game
from marl.nets import CNN, MLP, TwoHeads
from marl.search import MCTS

if TYPE_CHECKING:
    from marl.train_config import TrainConfig

# Left-right mirror of each game's actions: the board's one symmetry shared by both games.
MIRROR_ACTIONS: dict[str, tuple[int, ...]] = {
    "tictactoe": (2, 1, 0, 5, 4, 3, 8, 7, 6),
    "connect_four": (6, 5, 4, 3, 2, 1, 0),
}


Forward = Callable[[np.ndarray], np.ndarray]


Step = Callable[[np.ndarray], np.ndarray]


def _linear(layer: nn.Linear) -> Step:
    weight, bias = layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy()
    return lambda x: x @ weight + bias


def _conv(layer: nn.Conv2d, rows: int, cols: int) -> Step:
    """A 3x3 same-padded convolution on one channels-last board ``(rows, cols, planes)``, as one gather
    of the board's 3x3 patches (precomputed indices into the zero-padded board) and one matmul."""
    out, planes = layer.weight.shape[:2]
    weight = layer.weight.detach().cpu().numpy().reshape(out, -1).T.copy()  # (planes * 9, out)
    bias = layer.bias.detach().cpu().numpy().copy()
    # Patch element (plane, dr, dc) of cell (r, c) sits at padded (r + dr, c + dc, plane): torch's order.
    r, c, p, dr, dc = np.ix_(range(rows), range(cols), range(planes), range(3), range(3))
    index = (((r + dr) * (cols + 2) + (c + dc)) * planes + p).reshape(rows * cols, -1)
    padded = np.zeros((rows + 2, cols + 2, planes), dtype=np.float32)

    def conv(x: np.ndarray) -> np.ndarray:
        padded[1:-1, 1:-1] = x
        return (padded.reshape(-1)[index] @ weight + bias).reshape(rows, cols, out)

    return conv


def _steps(module: nn.Module, board: tuple[int, int] | None = None) -> list[Step] | None:
    """``module``'s forward on one flat observation as numpy steps; None for a layer it does not know."""
    if isinstance(module, MLP):
        layers = list(module.layers)
    elif isinstance(module, CNN):
        shape = module.obs_shape
        convs = _steps(module.convs, board=shape[:2])
        head = _steps(module.head)
        if convs is None or head is None:
            return None
        # Torch flattens (planes, rows, cols): channels-last maps transpose before the head.
        return [lambda x: x.reshape(shape), *convs, lambda x: x.transpose(2, 0, 1).reshape(-1), *head]
    elif isinstance(module, nn.Sequential):
        layers = list(module)
    else:
        return None
    steps: list[Step] = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            steps.append(_linear(layer))
        elif (
            isinstance(layer, nn.Conv2d) and board and layer.kernel_size == (3, 3) and layer.padding == (1, 1)
        ):
            steps.append(_conv(layer, *board))
        elif isinstance(layer, nn.ReLU | nn.Tanh):
            steps.append(_relu if isinstance(layer, nn.ReLU) else np.tanh)
        elif isinstance(layer, MLP | CNN):
            inner = _steps(layer)
            if inner is None:
                return None
            steps += inner
        else:
            return None
    return steps


def _chain(steps: list[Step]) -> Forward:
    def forward(x: np.ndarray) -> np.ndarray:
        for step in steps:
            x = step(x)
        return x

    return forward


def numpy_forward(network: torch.nn.Module) -> Forward | None:
    """The forward pass of an ``MLP``, a ``CNN`` or a ``TwoHeads`` of them in plain numpy, for one flat
    observation; None for other networks.

    Search evaluates one position at a time, where torch's per-call overhead costs several times the
    arithmetic of a small network.
    """
    if isinstance(network, TwoHeads):
        heads = numpy_heads(network)
        if heads is None:
            return None
        index = 0 if network.output == "policy" else 1
        return lambda x: heads(x)[index]
    steps = _steps(network)
    return None if steps is None else _chain(steps)


def numpy_heads(network: TwoHeads) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """Both heads of a ``TwoHeads`` network from one numpy pass through its body."""
    body = _steps(network.body)
    if body is None:
        return None
    trunk, policy, value = _chain(body), _linear(network.policy_head), _linear(network.value_head)

    def heads(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hidden = trunk(x)
        return policy(hidden), value(hidden)

    return heads


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _torch_forward(network: torch.nn.Module) -> Forward:
    def forward(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return network(torch.as_tensor(x[None], dtype=torch.float32))[0].numpy()

    return forward


def _torch_heads(network: TwoHeads) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    def heads(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, value = network.heads(torch.as_tensor(x[None], dtype=torch.float32))
        return logits[0].numpy(), value[0].numpy()

    return heads


class CachedNetworkEvaluator:
    """A policy network's prior and a value network's value, cached per position.

    The networks are frozen while a batch of self-play games is generated, so a position seen again
    (transpositions, the same opening in the next game) costs a dict lookup instead of two forwards.
    MLPs and CNNs run in numpy (``numpy_forward``), other networks in torch. Without ``value`` the
    policy is a ``TwoHeads`` network: one pass gives the prior and the value.
    """

    def __init__(self, policy: torch.nn.Module, value: torch.nn.Module | None = None) -> None:
        self.policy = policy.eval()
        self.value = value.eval() if value is not None else None
        self._heads: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
        if value is None:
            if not isinstance(policy, TwoHeads):
                raise TypeError("an evaluator without a value network needs a TwoHeads policy")
            self._heads = numpy_heads(policy) or _torch_heads(policy)
        else:
            forward_policy = numpy_forward(self.policy) or _torch_forward(self.policy)
            forward_value = numpy_forward(value) or _torch_forward(value)
            self._heads = lambda x: (forward_policy(x), forward_value(x))
        self.cache: dict[tuple[int, int], tuple[np.ndarray, float]] = {}

    def reset(self, seed: int | None) -> None:
        """A network search draws no random numbers."""

    def evaluate(self, game: FastGame, actions: list[int]) -> tuple[list[float], float]:
        """Softmax prior over ``actions`` and a value in [-1, 1] for the seat to move."""
        key = (game.bits[game.to_move], game.bits[1 - game.to_move])
        hit = self.cache.get(key)
        if hit is None:
            obs = game.observation().astype(np.float32).reshape(-1)  # both network kinds take it flat
            logits, values = self._heads(obs)
            value = float(values[0])
            hit = self.cache[key] = (logits.astype(np.float64), min(1.0, max(-1.0, value)))
        logits, value = hit
        scores = logits[actions]
        prior = np.exp(scores - scores.max())
        return (prior / prior.sum()).tolist(), value


@dataclass
class Positions:
    """Training positions as parallel arrays: observations, masks, visit shares and outcomes."""

    obs: np.ndarray  # (n, *obs_shape) int8
    masks: np.ndarray  # (n, n_actions) bool
    policy: np.ndarray  # (n, n_actions) float32, zero on illegal actions
    outcome: np.ndarray  # (n,) float32, the final reward of the seat to move

    def __len__(self) -> int:
        return len(self.outcome)

    def mirrored(self, game: str) -> Positions:
        """The same positions reflected left to right (columns reversed, actions permuted)."""
        perm = list(MIRROR_ACTIONS[game])
        return Positions(
            self.obs[:, :, ::-1, :].copy(), self.masks[:, perm], self.policy[:, perm], self.outcome.copy()
        )

    @staticmethod
    def concat(parts: list[Positions]) -> Positions:
        """All positions of ``parts`` in order."""
        return Positions(*(np.concatenate([getattr(p, f) for p in parts]) for f in POSITION_FIELDS))

    def tail(self, n: int) -> Positions:
        """The newest ``n`` positions (the replay window)."""
        return Positions(*(getattr(self, f)[-n:] for f in POSITION_FIELDS))


POSITION_FIELDS = ("obs", "masks", "policy", "outcome")


class SelfPlay:
    """Plays self-play games with one network in every seat, searching every move."""

    def __init__(
        self,
        cfg: TrainConfig,
        evaluator: CachedNetworkEvaluator,
        rng: np.random.Generator,
        on_game: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.core = fast_game(cfg.game)
        self.mcts = MCTS(evaluator, cfg.simulations)
        self.cfg = cfg
        self.rng = rng
        self.on_game = on_game  # sees the moves of every game played (for a watcher)

    def _noise(self, prior: list[float]) -> list[float]:
        cfg = self.cfg
        noise = self.rng.dirichlet([cfg.dirichlet_alpha] * len(prior))
        return ((1 - cfg.dirichlet_frac) * np.asarray(prior) + cfg.dirichlet_frac * noise).tolist()

    def game(self) -> Positions:
        """One game from the empty board; its positions with visit shares and outcomes."""
        game = self.core()
        obs, masks, shares, movers, moves = [], [], [], [], []
        while not game.terminal:
            actions = game.legal_actions()
            result = self.mcts.search(game, actions, root_noise=self._noise)
            pi = result.visits / result.visits.sum()
            obs.append(game.observation())
            masks.append(game.legal_mask().astype(bool))
            shares.append(pi.astype(np.float32))
            movers.append(game.to_move)
            if self.cfg.random_move_frac and self.rng.random() < self.cfg.random_move_frac:
                action = int(self.rng.choice(actions))
            elif game.moves < self.cfg.temperature_moves:
                action = int(self.rng.choice(len(pi), p=pi))
            else:
                action = result.action
            game.play(action)
            moves.append(action)
        if self.on_game is not None:
            self.on_game(moves)
        outcome = np.array([game.reward(seat) for seat in movers], dtype=np.float32)
        return Positions(np.stack(obs), np.stack(masks), np.stack(shares), outcome)

    def games(self, moves: int) -> tuple[Positions, int]:
        """Whole games until at least ``moves`` moves are played; the positions and the game count."""
        parts: list[Positions] = []
        played = 0
        while played < moves:
            parts.append(self.game())
            played += len(parts[-1])
        return Positions.concat(parts), len(parts)
