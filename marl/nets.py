"""Plain torch networks built from a JSON network spec; no Tianshou here.

A spec is ``{"kind": "mlp", "hidden": [128, 128]}`` or, for board games,
``{"kind": "cnn", "channels": [32, 32], "hidden": [128]}`` (optionally ``"activation": "relu" | "tanh"``).
``"shared": true`` gives either kind one body with two heads, action scores and a state value
(``TwoHeads``): az then trains one network instead of a policy and a value network of the same size.
The same spec rebuilds the same module everywhere: training, checkpoint loading and web play.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from marl.errors import ConfigError

NETWORK_KINDS = ("mlp", "cnn")
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
MAX_LAYERS = 8
MAX_WIDTH = 4096
MAX_CONV_LAYERS = 6
MAX_CHANNELS = 256
DEFAULT_NETWORK: dict[str, Any] = {"kind": "mlp", "hidden": [128, 128]}
DEFAULT_CNN: dict[str, Any] = {"kind": "cnn", "channels": [32, 32], "hidden": [128]}
_KEYS = {
    "mlp": ("kind", "hidden", "activation", "shared"),
    "cnn": ("kind", "channels", "hidden", "activation", "shared"),
}


def _widths(
    spec: Mapping[str, Any], key: str, default: list[int], max_layers: int, max_width: int
) -> list[int]:
    """A list of 1 to ``max_layers`` integer widths in 1..``max_width``, or ConfigError."""
    widths = spec.get(key, default)
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise ConfigError(f"network {key} must be a list of layer widths, got {widths!r}")
    if not 1 <= len(widths) <= max_layers:
        raise ConfigError(f"network {key} must have 1 to {max_layers} layers, got {len(widths)}")
    for width in widths:
        # bool is an int subclass: reject it explicitly, [True, 3] is a mistake, not a width.
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= max_width:
            raise ConfigError(f"network {key} widths must be integers in 1..{max_width}, got {width!r}")
    return [int(w) for w in widths]


def validate_network_spec(spec: Any) -> dict[str, Any]:
    """Return a normalized copy of ``spec`` or raise ConfigError saying what is wrong.

    ``{"kind": "mlp", "hidden": [...]}`` or ``{"kind": "cnn", "channels": [...], "hidden": [...]}``
    (3x3 convolutions over the board planes, then fully connected layers), each optionally with
    ``"activation"`` and ``"shared"`` (one body, a policy head and a value head).
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(f"network spec must be a dict like {DEFAULT_NETWORK}, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in NETWORK_KINDS:
        raise ConfigError(f"network kind must be one of {list(NETWORK_KINDS)}, got {kind!r}")
    unknown = set(spec) - set(_KEYS[kind])
    if unknown:
        raise ConfigError(
            f"network spec has unknown keys {sorted(unknown)}; allowed for {kind}: {', '.join(_KEYS[kind])}"
        )
    defaults = DEFAULT_CNN if kind == "cnn" else DEFAULT_NETWORK
    out: dict[str, Any] = {"kind": kind}
    if kind == "cnn":
        out["channels"] = _widths(spec, "channels", defaults["channels"], MAX_CONV_LAYERS, MAX_CHANNELS)
    out["hidden"] = _widths(spec, "hidden", defaults["hidden"], MAX_LAYERS, MAX_WIDTH)
    activation = spec.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise ConfigError(f"network activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if "activation" in spec:
        out["activation"] = activation
    shared = spec.get("shared", False)
    if not isinstance(shared, bool):
        raise ConfigError(f"network shared must be true or false, got {shared!r}")
    if shared:  # absent when false, so specs written before the option compare equal
        out["shared"] = True
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


class CNN(nn.Module):
    """3x3 convolutions (same padding) over channels-last board planes ``(batch, rows, cols, planes)``,
    then fully connected layers to ``n_out`` scores."""

    def __init__(
        self,
        obs_shape: Sequence[int],
        channels: Sequence[int],
        hidden: Sequence[int],
        n_out: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        rows, cols, planes = (int(d) for d in obs_shape)
        convs: list[nn.Module] = []
        for width in channels:
            convs += [nn.Conv2d(planes, width, kernel_size=3, padding=1), ACTIVATIONS[activation]()]
            planes = width
        self.convs = nn.Sequential(*convs)
        self.head = MLP(planes * rows * cols, hidden, n_out, activation)
        self.obs_shape = (rows, cols, int(obs_shape[2]))
        self.n_out = n_out

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(obs):
            obs = obs.float()
        # PettingZoo boards are channels-last; convolutions want (batch, planes, rows, cols).
        return self.head(self.convs(obs.reshape(-1, *self.obs_shape).permute(0, 3, 1, 2)))


class TwoHeads(nn.Module):
    """One body and two linear heads on its last hidden layer: ``n_actions`` scores and one value.

    ``forward`` returns the head named by ``output`` (``"policy"`` as the inference network, ``"value"``
    as the critic: the same weights under the same names either way); ``heads`` returns both from one
    pass through the body.
    """

    def __init__(self, body: nn.Module, width: int, n_actions: int, output: str = "policy") -> None:
        super().__init__()
        self.body = body
        self.policy_head = nn.Linear(width, n_actions)
        self.value_head = nn.Linear(width, 1)
        self.output = output
        self.n_out = n_actions if output == "policy" else 1

    def heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Action scores ``(batch, n_actions)`` and values ``(batch, 1)``."""
        hidden = self.body(obs)
        return self.policy_head(hidden), self.value_head(hidden)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        hidden = self.body(obs)
        return self.policy_head(hidden) if self.output == "policy" else self.value_head(hidden)


def _check_shape(obs_shape: Sequence[int], n_out: int) -> int:
    dims = tuple(int(d) for d in obs_shape)
    if not dims or any(d < 1 for d in dims):
        raise ConfigError(f"observation shape must be positive dimensions, got {tuple(obs_shape)}")
    if n_out < 1:
        raise ConfigError(f"number of outputs must be positive, got {n_out}")
    return math.prod(dims)


def network_parameters(spec: Mapping[str, Any], obs_shape: Sequence[int], n_actions: int) -> int:
    """How many weights ``build_network`` would make, computed without building it (a request can ask
    for a network too large to build cheaply, and callers cap it before paying for it)."""
    spec = validate_network_spec(spec)
    in_features = _check_shape(obs_shape, n_actions)
    total = 0
    if spec["kind"] == "cnn":
        if len(obs_shape) != 3:
            raise ConfigError(
                f"a cnn needs board observations (rows, cols, planes), got shape {tuple(obs_shape)}"
            )
        rows, cols, planes = (int(d) for d in obs_shape)
        for width in spec["channels"]:
            total += planes * width * 9 + width
            planes = width
        in_features = planes * rows * cols
    for width in spec["hidden"]:
        total += in_features * width + width
        in_features = width
    heads = int(n_actions) + (1 if spec.get("shared") else 0)
    return total + in_features * heads + heads


def build_network(spec: Mapping[str, Any], obs_shape: Sequence[int], n_actions: int) -> nn.Module:
    """Build the scoring network (Q-values or logits, one per action) described by ``spec``; for a
    shared spec, the ``TwoHeads`` network answering with its policy head."""
    return _build(spec, obs_shape, n_actions, "policy")


def build_critic(
    spec: Mapping[str, Any], obs_shape: Sequence[int], n_actions: int | None = None
) -> nn.Module:
    """Build a state-value network (one output) with the same body as the policy network; for a
    shared spec, the whole ``TwoHeads`` network answering with its value head (the policy's weights
    load into it unchanged), which needs the game's ``n_actions``."""
    spec = validate_network_spec(spec)
    if not spec.get("shared"):
        return _build(spec, obs_shape, 1, "policy")
    if n_actions is None:
        raise ConfigError("a shared network's critic needs the game's number of actions")
    return _build(spec, obs_shape, 1, "value", n_actions=n_actions)


def _build(
    spec: Mapping[str, Any], obs_shape: Sequence[int], n_out: int, output: str, n_actions: int | None = None
) -> nn.Module:
    spec = validate_network_spec(spec)
    in_features = _check_shape(obs_shape, n_out)
    activation = spec.get("activation", "relu")
    if spec["kind"] == "cnn" and len(obs_shape) != 3:
        raise ConfigError(
            f"a cnn needs board observations (rows, cols, planes), got shape {tuple(obs_shape)}"
        )
    hidden = spec["hidden"]
    if spec.get("shared"):
        # The body ends at the last hidden layer, activated; the heads are the last linear layers.
        *inner, width = hidden
        if spec["kind"] == "cnn":
            body: nn.Module = CNN(obs_shape, spec["channels"], inner, width, activation)
        else:
            body = MLP(in_features, inner, width, activation)
        body = nn.Sequential(body, ACTIVATIONS[activation]())
        return TwoHeads(body, width, int(n_actions if n_actions is not None else n_out), output)
    if spec["kind"] == "cnn":
        return CNN(obs_shape, spec["channels"], hidden, int(n_out), activation)
    return MLP(in_features, hidden, int(n_out), activation)


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The one place that picks the torch device: the requested one, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
