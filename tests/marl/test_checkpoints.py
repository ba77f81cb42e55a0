"""Checkpoints: safetensors + sidecar round trip, and every kind of bad file is refused, never unpickled."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save

from marl.checkpoints import load_agent, load_checkpoint, read_meta, save_checkpoint
from marl.errors import CheckpointError
from marl.nets import build_network
from marl.tensor_files import load_tensors, sha256_hex

ROOT = Path(__file__).resolve().parents[2]
NETWORK = {"kind": "mlp", "hidden": [32]}


def _meta(**over: object) -> dict:
    meta = {
        "game": "tictactoe",
        "env_id": "tictactoe_v3",
        "algorithm": "dqn",
        "network": NETWORK,
        "agent_id": "player_1",
        "env_steps": 1000,
        "parent": None,
        "metrics": {"win_rate": 0.5},
    }
    meta.update(over)
    return meta


def _trained_state(net: torch.nn.Module) -> dict:
    """A state shaped like a Tianshou algorithm's state_dict: module tensors plus nested Adam state."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 3, 3, 2)).sum().backward()
    opt.step()
    tensors = {f"policy.model.net.{k}": v for k, v in net.state_dict().items()}
    return {**tensors, "_optimizers": [opt.state_dict()]}


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    net = build_network(NETWORK, (3, 3, 2), 9)
    path = save_checkpoint(
        tmp_path, "player_1-000001000", weights=net.state_dict(), state=_trained_state(net), meta=_meta()
    )
    return path, net


def _rehash(path: Path) -> None:
    """Make the sidecar vouch for the (damaged) weights file, so only the format checks can catch it."""
    sidecar = path.with_name(path.name.replace(".safetensors", ".json"))
    meta = json.loads(sidecar.read_text())
    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(meta))


def test_a_saved_checkpoint_loads_back_with_its_weights_state_and_sidecar(saved):
    path, net = saved
    ckpt = load_checkpoint(path, game="tictactoe")
    for key, value in net.state_dict().items():
        assert torch.equal(ckpt.weights[key], value)
    meta = ckpt.meta
    assert meta["format"] == 1 and meta["game"] == "tictactoe" and meta["env_id"] == "tictactoe_v3"
    assert meta["agent_id"] == "player_1" and meta["env_steps"] == 1000 and meta["parent"] is None
    assert set(meta["versions"]) == {"torch", "tianshou", "pettingzoo", "safetensors", "python"}
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["metrics"] == {"win_rate": 0.5} and meta["created_at"]
    adam = ckpt.state["_optimizers"][0]
    assert set(adam["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert adam["param_groups"][0]["betas"] == (0.9, 0.999)
    fresh = torch.optim.Adam(build_network(NETWORK, (3, 3, 2), 9).parameters())
    fresh.load_state_dict(adam)  # the unflattened optimizer state loads into a real optimizer


def test_a_checkpoint_is_three_files_and_no_temp_files_are_left(saved):
    path, _ = saved
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == [
        "player_1-000001000.json",
        "player_1-000001000.safetensors",
        "player_1-000001000.state.safetensors",
    ]
    assert read_meta(path.parent / "player_1-000001000.json") == read_meta(path)


def test_a_tampered_byte_is_refused(saved):
    path, _ = saved
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)


def test_a_tampered_training_state_is_refused_when_it_is_read(saved):
    path, _ = saved
    state = path.with_name("player_1-000001000.state.safetensors")
    data = bytearray(state.read_bytes())
    data[-3] ^= 0x01
    state.write_bytes(bytes(data))
    ckpt = load_checkpoint(path)  # the weights are fine; the state is read lazily
    with pytest.raises(CheckpointError, match="sha256"):
        _ = ckpt.state


def test_a_pickle_renamed_to_safetensors_is_refused_without_being_unpickled(saved, monkeypatch):
    path, net = saved
    path.write_bytes(pickle.dumps({k: v.numpy() for k, v in net.state_dict().items()}))
    _rehash(path)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a checkpoint must never be unpickled")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


def test_a_torch_save_zip_renamed_to_safetensors_is_refused(saved):
    path, net = saved
    torch.save(net.state_dict(), path)
    _rehash(path)
    with pytest.raises(CheckpointError, match="zip archive"):
        load_checkpoint(path)


def test_a_truncated_file_is_refused(saved):
    path, _ = saved
    path.write_bytes(path.read_bytes()[:-100])
    _rehash(path)
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_a_file_cut_inside_its_header_is_refused(saved):
    path, _ = saved
    path.write_bytes(path.read_bytes()[:20])
    _rehash(path)
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_a_header_larger_than_the_sane_bound_is_refused(saved):
    path, _ = saved
    path.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    _rehash(path)
    with pytest.raises(CheckpointError, match="exceeds"):
        load_checkpoint(path)


def test_a_checkpoint_for_another_game_is_refused(saved):
    path, _ = saved
    with pytest.raises(CheckpointError, match="is for tictactoe, not connect_four"):
        load_checkpoint(path, game="connect_four")


def test_weights_of_another_architecture_are_refused(tmp_path):
    small = build_network({"kind": "mlp", "hidden": [16]}, (3, 3, 2), 9)
    path = save_checkpoint(tmp_path, "odd", weights=small.state_dict(), state=None, meta=_meta())
    with pytest.raises(CheckpointError, match="layers.0.weight"):
        load_checkpoint(path)


def test_weights_with_missing_tensors_are_refused(tmp_path):
    net = build_network(NETWORK, (3, 3, 2), 9)
    weights = dict(net.state_dict())
    weights.pop("layers.2.bias")
    path = save_checkpoint(tmp_path, "partial", weights=weights, state=None, meta=_meta())
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(path)


def test_a_checkpoint_without_its_sidecar_is_not_a_checkpoint(saved):
    path, _ = saved
    path.with_name("player_1-000001000.json").unlink()
    with pytest.raises(CheckpointError, match="no sidecar"):
        load_checkpoint(path)


def test_a_sidecar_missing_a_field_is_refused(saved):
    path, _ = saved
    sidecar = path.with_name("player_1-000001000.json")
    meta = json.loads(sidecar.read_text())
    del meta["env_id"]
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="env_id"):
        read_meta(path)


def test_a_bad_checkpoint_name_is_refused(tmp_path):
    net = build_network(NETWORK, (3, 3, 2), 9)
    with pytest.raises(CheckpointError, match="name"):
        save_checkpoint(tmp_path, "../escape", weights=net.state_dict(), state=None, meta=_meta())


def test_a_loaded_agent_plays_legal_greedy_moves(saved):
    path, _ = saved
    agent = load_agent(path, device="cpu")
    assert agent.kind == "q"
    mask = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    for _ in range(5):
        assert agent.act(np.zeros((3, 3, 2), dtype=np.int8), mask) in (1, 4)


def test_no_checkpoint_code_calls_torch_load_or_unpickles():
    for name in ("checkpoints.py", "nets.py"):
        text = (ROOT / "marl" / name).read_text()
        assert "torch.load" not in text and "import pickle" not in text, name


def test_a_safetensors_file_whose_header_length_starts_with_0x80_loads(tmp_path):
    # A 128-byte header makes the file's first byte 0x80, the byte a pickle starts with.
    for pad in range(200):
        data = save({"w": torch.zeros(2)}, metadata={"pad": "x" * pad})
        if data[0] == 0x80:
            break
    assert data[0] == 0x80 and int.from_bytes(data[:8], "little") == 128
    tensors, metadata = load_tensors(data, tmp_path / "w.safetensors", sha256_hex(data))
    assert tensors["w"].tolist() == [0.0, 0.0] and metadata["pad"].startswith("x")
