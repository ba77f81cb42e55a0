"""Plain torch networks built from a JSON network spec; no Tianshou here.

A spec is ``{"kind": "mlp", "hidden": [128, 128]}`` (optionally ``"activation": "relu" | "tanh"``).
The same spec rebuilds the same module everywhere: training, checkpoint loading and web play.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from marl.errors import ConfigError

NETWORK_KINDS = ("mlp",)
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
MAX_LAYERS = 8
MAX_WIDTH = 4096
DEFAULT_NETWORK: dict[str, Any] = {"kind": "mlp", "hidden": [128, 128]}


def validate_network_spec(spec: Any) -> dict[str, Any]:
    """Return a normalized copy of ``spec`` or raise ConfigError saying what is wrong."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"network spec must be a dict like {DEFAULT_NETWORK}, got {type(spec).__name__}")
    unknown = set(spec) - {"kind", "hidden", "activation"}
    if unknown:
        raise ConfigError(
            f"network spec has unknown keys {sorted(unknown)}; allowed: kind, hidden, activation"
        )
    kind = spec.get("kind")
    if kind not in NETWORK_KINDS:
        raise ConfigError(f"network kind must be one of {list(NETWORK_KINDS)}, got {kind!r}")
    hidden = spec.get("hidden", DEFAULT_NETWORK["hidden"])
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
        raise ConfigError(f"network hidden must be a list of layer widths, got {hidden!r}")
    if not 1 <= len(hidden) <= MAX_LAYERS:
        raise ConfigError(f"network hidden must have 1 to {MAX_LAYERS} layers, got {len(hidden)}")
    for width in hidden:
        # bool is an int subclass: reject it explicitly, [True, 3] is a mistake, not a width.
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
            raise ConfigError(f"network layer widths must be integers in 1..{MAX_WIDTH}, got {width!r}")
    activation = spec.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise ConfigError(f"network activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    out: dict[str, Any] = {"kind": kind, "hidden": [int(w) for w in hidden]}
    if "activation" in spec:
        out["activation"] = activation
    return out


class MLP(nn.Module):
    """Flattens each observation and maps it through fully connected layers to ``n_out`` scores."""

    def __init__(self, in_features: int, hidden: Sequence[int], n_out: int, activation: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            width = h
        layers.append(nn.Linear(width, n_out))
        self.layers = nn.Sequential(*layers)
        self.in_features = in_features
        self.n_out = n_out

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # Boards arrive as int8/bool planes; the network always computes in float.
        if not torch.is_floating_point(obs):
            obs = obs.float()
        return self.layers(obs.reshape(obs.shape[0], -1))


def _check_shape(obs_shape: Sequence[int], n_out: int) -> int:
    dims = tuple(int(d) for d in obs_shape)
    if not dims or any(d < 1 for d in dims):
        raise ConfigError(f"observation shape must be positive dimensions, got {tuple(obs_shape)}")
    if n_out < 1:
        raise ConfigError(f"number of outputs must be positive, got {n_out}")
    return math.prod(dims)


def build_network(spec: Mapping[str, Any], obs_shape: Sequence[int], n_actions: int) -> nn.Module:
    """Build the scoring network (Q-values or logits, one per action) described by ``spec``."""
    spec = validate_network_spec(spec)
    in_features = _check_shape(obs_shape, n_actions)
    return MLP(in_features, spec["hidden"], int(n_actions), spec.get("activation", "relu"))


def build_critic(spec: Mapping[str, Any], obs_shape: Sequence[int]) -> nn.Module:
    """Build a state-value network (one output) with the same body as the policy network."""
    return build_network(spec, obs_shape, 1)


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The one place that picks the torch device: the requested one, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
