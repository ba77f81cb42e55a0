"""Checkpoints: safetensors weights + full training state + a JSON sidecar, written atomically.

``NAME.safetensors`` holds the inference weights (what play needs), ``NAME.state.safetensors`` the full
training state (target network, optimizer moments: what resume needs) and ``NAME.json`` the sidecar.
The sidecar is written last, so its presence means the checkpoint is complete. Loading never unpickles:
files are parsed as safetensors only, after a structural check and a sha256 comparison.
No Tianshou import here; torch and safetensors only.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import save as st_save

from marl.agents import PolicyAgent
from marl.errors import CheckpointError, ConfigError, MarlError
from marl.games import get_game
from marl.nets import build_network
from marl.tensor_files import (
    MAX_FILE_BYTES,
    atomic_write,
    flatten_state,
    load_tensors,
    read_limited,
    sha256_hex,
    unflatten_state,
)

if TYPE_CHECKING:  # marl.regret imports this module's neighbours; only the name is needed here
    from marl.regret import TableAgent

FORMAT = 1
MAX_SIDECAR_BYTES = 1024 * 1024
# algorithm -> how PolicyAgent reads the network output (az: a policy head, like PPO's actor)
AGENT_KINDS = {"dqn": "q", "ppo": "logits", "az": "logits"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SIDECAR_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "game": str,
    "env_id": str,
    "algorithm": str,
    "network": dict,
    "agent_id": str,
    "env_steps": int,
    "parent": (str, type(None)),
    "sha256": str,
    "state_sha256": (str, type(None)),
    "versions": dict,
    "metrics": dict,
    "created_at": str,
}
_CALLER_KEYS = ("game", "env_id", "algorithm", "network", "agent_id", "env_steps")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a checkpoint (read from package metadata, nothing imported)."""
    out = {"python": platform.python_version()}
    for pkg in ("torch", "tianshou", "pettingzoo", "safetensors"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


# ----------------------------------------------------------------------------------------------- files
def _paths(directory: Path, name: str) -> tuple[Path, Path, Path]:
    return (
        directory / f"{name}.safetensors",
        directory / f"{name}.state.safetensors",
        directory / f"{name}.json",
    )


def _resolve(path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """Accept NAME.safetensors, NAME.state.safetensors, NAME.json or NAME and return all three paths."""
    p = Path(path)
    name = p.name
    for suffix in (".state.safetensors", ".safetensors", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _paths(p.parent, name)


# ------------------------------------------------------------------------------------------ public API
@dataclass
class Checkpoint:
    """A verified checkpoint: sidecar ``meta``, inference ``weights`` and (lazily) the training ``state``."""

    path: Path
    meta: dict[str, Any]
    weights: dict[str, torch.Tensor]
    state_path: Path | None = None
    _state: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name[: -len(".safetensors")]

    @property
    def state(self) -> dict[str, Any] | None:
        """The nested training state (as ``state_dict()`` returned it), read and verified on first use."""
        if self._state is None and self.meta.get("state_sha256"):
            assert self.state_path is not None
            data = read_limited(self.state_path, MAX_FILE_BYTES, "training state")
            tensors, md = load_tensors(data, self.state_path, self.meta["state_sha256"])
            try:
                skeleton = json.loads(md["skeleton"])
            except (KeyError, ValueError):
                raise CheckpointError(f"{self.state_path} lacks its state skeleton metadata") from None
            self._state = unflatten_state(tensors, skeleton)
        return self._state


def save_checkpoint(
    directory: str | os.PathLike[str],
    name: str,
    *,
    weights: Mapping[str, torch.Tensor],
    state: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> Path:
    """Write NAME.safetensors, NAME.state.safetensors (if ``state``) and NAME.json; return the weights path.

    ``meta`` gives game, env_id, algorithm, network, agent_id, env_steps and optionally parent and
    metrics; format, hashes, versions and created_at are filled in. ``state`` may be nested (a Tianshou
    algorithm's ``state_dict()`` with its optimizer states): it is flattened, non-tensor parts go to the
    file's safetensors metadata.
    """
    if not _NAME_RE.match(name) or name.endswith(".state"):
        raise CheckpointError(f"checkpoint name {name!r} must be letters, digits, '_', '-', '.' (max 128)")
    missing = [k for k in _CALLER_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint meta lacks {missing}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    w_path, s_path, j_path = _paths(directory, name)
    # Drop an old sidecar first: while the new files are written, no sidecar may vouch for them.
    j_path.unlink(missing_ok=True)

    flat_weights = {k: v.detach().cpu().contiguous().clone() for k, v in weights.items()}
    w_bytes = st_save(flat_weights, metadata={"format": str(FORMAT), "kind": "weights"})
    atomic_write(w_path, w_bytes)
    state_sha = None
    if state is not None:
        tensors, skeleton = flatten_state(state)
        s_bytes = st_save(
            tensors, metadata={"format": str(FORMAT), "kind": "state", "skeleton": json.dumps(skeleton)}
        )
        atomic_write(s_path, s_bytes)
        state_sha = sha256_hex(s_bytes)
    else:
        s_path.unlink(missing_ok=True)

    sidecar = {
        "format": FORMAT,
        **{k: meta[k] for k in _CALLER_KEYS},
        "env_steps": int(meta["env_steps"]),
        "parent": meta.get("parent"),
        "sha256": sha256_hex(w_bytes),
        "state_sha256": state_sha,
        "versions": library_versions(),
        "metrics": dict(meta.get("metrics") or {}),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    extra = {k: v for k, v in meta.items() if k not in sidecar and k not in _SIDECAR_TYPES}
    sidecar.update(extra)  # e.g. parent_sha256; readers ignore keys they do not know
    atomic_write(j_path, json.dumps(sidecar, indent=2, sort_keys=True).encode())
    return w_path


def _validate_meta(meta: Any, path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise CheckpointError(f"sidecar {path} is not a JSON object")
    for key, typ in _SIDECAR_TYPES.items():
        if key not in meta:
            raise CheckpointError(f"sidecar {path} lacks {key!r}")
        if not isinstance(meta[key], typ) or (typ is int and isinstance(meta[key], bool)):
            raise CheckpointError(f"sidecar {path}: {key!r} has the wrong type ({type(meta[key]).__name__})")
    if meta["format"] != FORMAT:
        raise CheckpointError(f"sidecar {path} has format {meta['format']}; this code reads format {FORMAT}")
    if meta["env_steps"] < 0:
        raise CheckpointError(f"sidecar {path}: env_steps is negative")
    for key in ("sha256", "state_sha256"):
        if meta[key] is not None and not _HEX64.match(meta[key]):
            raise CheckpointError(f"sidecar {path}: {key!r} is not a sha256 hex digest")
    return meta


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and schema-check a checkpoint's sidecar (no weights are read)."""
    _, _, j_path = _resolve(path)
    data = read_limited(j_path, MAX_SIDECAR_BYTES, "checkpoint sidecar")
    try:
        meta = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        raise CheckpointError(f"sidecar {j_path} is not valid JSON") from None
    return _validate_meta(meta, j_path)


def _expected_shapes(meta: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    try:
        spec = get_game(meta["game"])
    except MarlError as exc:
        raise CheckpointError(f"checkpoint is for an unknown game: {exc}") from None
    if spec.env_id != meta["env_id"]:
        raise CheckpointError(
            f"checkpoint was trained on {meta['env_id']}, but {meta['game']} is now {spec.env_id}"
        )
    if meta["algorithm"] == "mccfr":
        from marl.regret import expected_shapes  # a table over information states, not a network

        return expected_shapes(meta)
    try:
        net = build_network(meta["network"], spec.obs_shape, spec.n_actions)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint has an invalid network spec: {exc}") from None
    return {k: (tuple(v.shape), v.dtype) for k, v in net.state_dict().items()}


def load_checkpoint(path: str | os.PathLike[str], *, game: str | None = None) -> Checkpoint:
    """Load and verify a checkpoint: sidecar schema, game, file format, sha256, tensor names and shapes."""
    w_path, s_path, j_path = _resolve(path)
    if not j_path.exists():
        raise CheckpointError(f"no sidecar {j_path}: the checkpoint is missing or was not completely written")
    meta = read_meta(j_path)
    if game is not None and meta["game"] != game:
        raise CheckpointError(f"checkpoint {w_path.name} is for {meta['game']}, not {game}")
    data = read_limited(w_path, MAX_FILE_BYTES, "checkpoint weights")
    weights, _ = load_tensors(data, w_path, meta["sha256"])
    expected = _expected_shapes(meta)
    if set(weights) != set(expected):
        raise CheckpointError(
            f"{w_path.name} does not fit network {meta['network']}: "
            f"missing {sorted(set(expected) - set(weights))}, unexpected {sorted(set(weights) - set(expected))}"
        )
    for key, (shape, dtype) in expected.items():
        if tuple(weights[key].shape) != shape or weights[key].dtype != dtype:
            raise CheckpointError(
                f"{w_path.name}: tensor {key} is {tuple(weights[key].shape)} {weights[key].dtype}, "
                f"network {meta['network']} needs {shape} {dtype}"
            )
    return Checkpoint(
        path=w_path, meta=meta, weights=weights, state_path=s_path if meta["state_sha256"] else None
    )


def network_from_checkpoint(ckpt: Checkpoint, device: str | torch.device | None = None) -> torch.nn.Module:
    """Rebuild the inference network of a verified checkpoint, in eval mode."""
    spec = get_game(ckpt.meta["game"])
    net = build_network(ckpt.meta["network"], spec.obs_shape, spec.n_actions)
    net.load_state_dict(ckpt.weights)
    if device is not None:
        net.to(device)
    return net.eval()


def seats_served(meta: Mapping[str, Any]) -> list[str]:
    """The seats a checkpoint's network plays: its sidecar's ``seats`` (one network for several seats,
    as self-play writes) or else its one ``agent_id``."""
    seats = meta.get("seats")
    return list(seats) if isinstance(seats, list) and seats else [meta["agent_id"]]


def critic_from_checkpoint(
    ckpt: Checkpoint, device: str | torch.device | None = None
) -> torch.nn.Module | None:
    """The value network saved in the training state (keys ``critic.net.*``: PPO's critic, az's value
    head), in eval mode; None when the checkpoint has no state or no value network in it."""
    prefix = "critic.net."
    weights = {k[len(prefix) :]: v for k, v in (ckpt.state or {}).items() if k.startswith(prefix)}
    if not weights:
        return None
    from marl.nets import build_critic

    game = get_game(ckpt.meta["game"])
    critic = build_critic(ckpt.meta["network"], game.obs_shape, game.n_actions)
    critic.load_state_dict(weights)
    if device is not None:
        critic.to(device)
    return critic.eval()


def load_agent(
    path: str | os.PathLike[str], device: str | torch.device | None = None, *, value: bool = False
) -> PolicyAgent | TableAgent:
    """A greedy, masked PolicyAgent from a checkpoint (Q-values for DQN, logits for a PPO actor; an mccfr
    checkpoint gives its TableAgent instead); with
    ``value``, also its value network when the training state holds one (read only then: it is larger)."""
    ckpt = load_checkpoint(path)
    if ckpt.meta["algorithm"] == "mccfr":
        from marl.regret import load_table_agent

        return load_table_agent(ckpt.weights, ckpt.meta)
    kind = AGENT_KINDS.get(ckpt.meta["algorithm"])
    if kind is None:
        raise CheckpointError(f"checkpoint algorithm {ckpt.meta['algorithm']!r} has no playable agent")
    critic = None
    if value and kind == "logits":
        try:
            critic = critic_from_checkpoint(ckpt)
        except (CheckpointError, OSError):  # a lost or damaged state costs the value, never the play
            critic = None
    return PolicyAgent(network_from_checkpoint(ckpt, device), kind=kind, device=device, critic=critic)
