"""Tensor files: safetensors bytes checked before parsing, nested state as flat tensors, atomic writes.

The file layer under ``marl.checkpoints``: nothing here knows about games or networks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load

from marl.errors import CheckpointError

MAX_HEADER_BYTES = 8 * 1024 * 1024  # a safetensors JSON header; ours are a few KB
MAX_FILE_BYTES = 4 * 1024**3
_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync it, rename over ``path``, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, refused when it is missing or over `limit`."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{what} {path} does not exist") from None
    if size > limit:
        raise CheckpointError(f"{what} {path} is {size} bytes, over the {limit}-byte limit")
    return path.read_bytes()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of `data`: what a sidecar records and loading checks."""
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------- nested state <-> flat tensors
def flatten_state(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested state dict (module tensors + optimizer state) into flat tensors and a JSON skeleton.

    Tensors are named by their path (nested levels joined by ``/``); the skeleton keeps everything else
    (optimizer hyperparameters, int keys, tuples) and points at tensors by name.
    """
    tensors: dict[str, torch.Tensor] = {}

    def enc(obj: Any, path: str) -> Any:
        if isinstance(obj, torch.Tensor):
            if path in tensors:
                raise CheckpointError(f"state tensor name {path!r} is ambiguous")
            tensors[path] = obj.detach().cpu().contiguous().clone()
            return {"$t": path}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if not isinstance(k, str | int) or isinstance(k, bool):
                    raise CheckpointError(f"state key {k!r} at {path!r} is neither str nor int")
                items.append([k, enc(v, f"{path}/{k}" if path else str(k))])
            return {"$d": items}
        if isinstance(obj, tuple):
            return {"$tuple": [enc(v, f"{path}/{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [enc(v, f"{path}/{i}") for i, v in enumerate(obj)]
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        raise CheckpointError(f"cannot store a {type(obj).__name__} at {path!r} in a checkpoint")

    skeleton = enc(state, "")
    return tensors, skeleton


def unflatten_state(tensors: Mapping[str, torch.Tensor], skeleton: Any) -> Any:
    """Inverse of :func:`flatten_state`."""

    def dec(obj: Any) -> Any:
        if isinstance(obj, list):
            return [dec(v) for v in obj]
        if isinstance(obj, dict):
            if "$t" in obj:
                if obj["$t"] not in tensors:
                    raise CheckpointError(f"training state lacks tensor {obj['$t']!r}")
                return tensors[obj["$t"]]
            if "$tuple" in obj:
                return tuple(dec(v) for v in obj["$tuple"])
            if "$d" in obj:
                return {k: dec(v) for k, v in obj["$d"]}
            raise CheckpointError("training state skeleton is malformed")
        return obj

    return dec(skeleton)


# ------------------------------------------------------------------------------------- safetensors I/O
def _check_safetensors(data: bytes, path: Path) -> dict[str, Any]:
    """Structurally validate safetensors bytes before any parser sees them; return the JSON header."""
    if data[:4] == b"PK\x03\x04":
        raise CheckpointError(
            f"{path} is a zip archive (torch.save format), not safetensors; refusing to load it"
        )
    # A pickle starts with 0x80 (PROTO); so does a safetensors file whose header length's low byte is 128,
    # but its JSON header then opens with "{" at byte 8, which no pickle's framing puts there.
    if data[:1] == b"\x80" and data[8:9] != b"{":
        raise CheckpointError(f"{path} looks like a Python pickle, not safetensors; pickles are never loaded")
    if len(data) < 8:
        raise CheckpointError(f"{path} is not a safetensors file (only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{path} is not a valid safetensors file: header of {n} bytes exceeds the {MAX_HEADER_BYTES}-byte bound"
        )
    if 8 + n > len(data):
        raise CheckpointError(f"{path} is truncated: header needs {n} bytes, file has {len(data) - 8}")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{path} is not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file (header is not a JSON object)")
    body = len(data) - 8 - n
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
            count = math.prod(int(d) for d in info["shape"]) * _DTYPE_BYTES[info["dtype"]]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: tensor {key!r} has a malformed header entry") from None
        if not 0 <= start <= stop or stop - start != count:
            raise CheckpointError(f"{path}: tensor {key!r} has inconsistent offsets")
        end = max(end, stop)
    if end != body:
        state = "truncated" if end > body else "followed by unexpected bytes"
        raise CheckpointError(f"{path} is {state}: tensors need {end} data bytes, file has {body}")
    return header


def load_tensors(data: bytes, path: Path, sha256: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Check structure, then the hash from the sidecar, then parse (safetensors only, never pickle)."""
    header = _check_safetensors(data, path)
    if sha256_hex(data) != sha256:
        raise CheckpointError(f"{path} does not match the sha256 in its sidecar (changed or corrupt)")
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types; report them as ours
        raise CheckpointError(f"{path} could not be parsed as safetensors: {exc}") from None
    return tensors, dict(header.get("__metadata__") or {})
