"""Agents: the small protocol the match loop drives, a random agent and a greedy network policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from marl.errors import MarlError

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Agent(Protocol):
    """Anything that picks a legal action from an observation and its action mask."""

    def reset(self, seed: int | None = None) -> None:
        """Start a new game; ``seed`` re-seeds any randomness."""
        ...

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """One action for one observation (mover's point of view)."""
        ...

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """One action per row of a batch of observations and masks."""
        ...

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        """Per-action values for the browser's heat map, or ``None`` if the agent has none."""
        ...


@runtime_checkable
class PositionAgent(Protocol):
    """An agent that needs the game's move history, not only the observation (an external engine).

    The match loop calls ``act_moves`` instead of ``act``/``act_batch`` for an agent with
    ``needs_moves = True``; ``moves`` are every action index played so far, the opening included, so
    the agent can replay the position in its own notation.
    """

    needs_moves: bool

    def reset(self, seed: int | None = None) -> None: ...

    def act_moves(self, moves: list[int], observation: np.ndarray, action_mask: np.ndarray) -> int:
        """One action for the position reached by ``moves``."""
        ...


def needs_moves(agent: object) -> bool:
    """Whether the match loop must hand ``agent`` the move history (see ``PositionAgent``)."""
    return bool(getattr(agent, "needs_moves", False))


def check_masks(masks: np.ndarray) -> np.ndarray:
    legal = np.asarray(masks).astype(bool, copy=False)
    if legal.ndim != 2:
        raise MarlError(f"expected a 2-d batch of action masks, got shape {legal.shape}")
    if not legal.any(axis=1).all():
        raise MarlError("an action mask has no legal action")
    return legal


class UniformChoice:
    """A seeded uniform choice among each position's candidate moves: the legal ones here, fewer in a
    subclass (``candidates``). One uniform draw per action a row, so ``act_batch`` equals calling
    ``act`` row by row with the same generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed when a seed is given; otherwise keep the current stream."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """A uniformly random candidate move."""
        return int(self.act_batch(np.asarray(observation)[None], np.asarray(action_mask)[None])[0])

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """One uniformly random candidate move per row."""
        candidates = self.candidates(observations, check_masks(masks))
        # argmax of i.i.d. uniform keys over the set is a uniform pick.
        keys = self.rng.random(candidates.shape)
        keys[~candidates] = -1.0
        return keys.argmax(axis=1)

    def candidates(self, observations: np.ndarray, legal: np.ndarray) -> np.ndarray:
        """The moves each row chooses among (a bool array like ``legal``, none empty)."""
        return legal

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        """A random player has no opinion."""
        return None


class RandomAgent(UniformChoice):
    """Uniform over the legal moves, from a numpy ``Generator``."""


class PolicyAgent:
    """Greedy policy over a plain ``torch.nn.Module``: argmax of the scores of legal actions.

    ``kind`` is ``"q"`` (the network outputs action values) or ``"logits"`` (it outputs policy logits).
    The network receives a float32 batch shaped ``(batch, *obs_shape)``. ``critic``, optional, is a
    value network (one output: the expected outcome for the seat to move) that ``value`` reads.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        kind: str = "q",
        device: str | torch.device | None = None,
        critic: torch.nn.Module | None = None,
    ) -> None:
        from marl.nets import select_device  # lazy: torch only when a network is served

        if kind not in ("q", "logits"):
            raise MarlError(f"kind must be 'q' or 'logits', got {kind!r}")
        self.device = select_device(device)  # CUDA when present unless told otherwise
        self.kind = kind
        self.network = network.to(self.device).eval()
        self.critic = critic.to(self.device).eval() if critic is not None else None

    def reset(self, seed: int | None = None) -> None:
        """Greedy play keeps no state between games."""

    def _masked(self, observations: np.ndarray, masks: np.ndarray) -> torch.Tensor:
        import torch

        legal = check_masks(masks)
        with torch.inference_mode():
            # ascontiguousarray: PettingZoo's chess observation is a flipped view (negative strides),
            # which torch refuses to wrap.
            obs = torch.as_tensor(np.ascontiguousarray(observations), dtype=torch.float32, device=self.device)
            out = self.network(obs)
            if out.shape != legal.shape:
                raise MarlError(f"network output shape {tuple(out.shape)} does not match masks {legal.shape}")
            mask = torch.as_tensor(legal, device=self.device)
            return out.float().masked_fill(~mask, float("-inf"))

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """The best legal action."""
        return int(self.act_batch(np.asarray(observation)[None], np.asarray(action_mask)[None])[0])

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The best legal action per row, from one forward pass for the whole batch."""
        return self._masked(observations, masks).argmax(dim=1).cpu().numpy()

    def action_values(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The network's raw output per row (Q-values or logits), ``-inf`` for illegal actions."""
        return self._masked(observations, masks).cpu().numpy().astype(np.float64)

    def value(self, observation: np.ndarray) -> float | None:
        """The critic's value of the position for the seat to move, or None without a critic."""
        if self.critic is None:
            return None
        import torch

        with torch.inference_mode():
            obs = torch.as_tensor(
                np.ascontiguousarray(observation)[None], dtype=torch.float32, device=self.device
            )
            return float(self.critic(obs)[0, 0])

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Q-values (NaN for illegal actions) or, for ``"logits"``, probabilities over legal actions."""
        return self._scores_of(self._masked(np.asarray(observation)[None], np.asarray(action_mask)[None])[0])

    def scores_and_act(self, observation: np.ndarray, action_mask: np.ndarray) -> tuple[np.ndarray, int]:
        """``scores`` and ``act`` from one forward pass (a human game shows what the agent thought of
        the position it moves in)."""
        masked = self._masked(np.asarray(observation)[None], np.asarray(action_mask)[None])[0]
        return self._scores_of(masked), int(masked.argmax())

    def _scores_of(self, masked: torch.Tensor) -> np.ndarray:
        import torch

        if self.kind == "logits":
            return torch.softmax(masked, dim=0).cpu().numpy().astype(np.float64)
        values = masked.cpu().numpy().astype(np.float64)
        values[np.isneginf(values)] = np.nan  # -inf is not JSON; NaN marks "no value" (send None)
        return values


class SoftmaxAgent:
    """Samples from ``softmax(values / temperature)`` over a policy's legal actions instead of argmax.

    Varies games between fixed checkpoints. ``reset(seed)`` re-seeds it, so a match seed fixes the
    moves; lower temperatures stay closer to the greedy policy.
    """

    def __init__(self, policy: PolicyAgent, temperature: float = 1.0, seed: int | None = None) -> None:
        if not temperature > 0:
            raise MarlError(f"temperature must be positive, got {temperature!r}")
        self.policy = policy
        self.temperature = float(temperature)
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed when a seed is given; otherwise keep the current stream."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """One sampled legal action."""
        return int(self.act_batch(np.asarray(observation)[None], np.asarray(action_mask)[None])[0])

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """One sampled legal action per row (one forward pass, one uniform draw per row)."""
        logits = self.policy.action_values(observations, masks) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)  # exp(-inf) = 0 keeps illegal actions out
        cumulative = np.cumsum(np.exp(logits), axis=1)
        draws = self.rng.random(len(cumulative)) * cumulative[:, -1]
        picks = (cumulative <= draws[:, None]).sum(axis=1)
        # Rounding can only push a pick past the last legal action; pull it back onto one.
        legal = np.isfinite(logits)
        last_legal = legal.shape[1] - 1 - legal[:, ::-1].argmax(axis=1)
        return np.minimum(picks, last_legal)

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        """The wrapped policy's scores."""
        return self.policy.scores(observation, action_mask)
