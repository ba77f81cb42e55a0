"""Checkpoint archives without the site: a checkpoint packed and unpacked keeps its bytes and still
loads; the command line does the same; a hostile archive is refused before anything is written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import torch

from marl.checkpoint_archives import SPEC, WEIGHTS, ArchiveError, main, pack_checkpoint, unpack_checkpoint
from marl.checkpoints import load_checkpoint, save_checkpoint
from marl.nets import build_network

META = {
    "game": "tictactoe",
    "env_id": "tictactoe_v3",
    "algorithm": "dqn",
    "network": {"kind": "mlp", "hidden": [8]},
    "agent_id": "player_1",
    "env_steps": 300,
}


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    net = build_network(META["network"], (3, 3, 2), 9)
    state = {"model": net.state_dict(), "optim": {"step": 3, "lr": 1e-3}}
    return save_checkpoint(tmp_path / "src", "cp", weights=net.state_dict(), state=state, meta=META)


def test_a_packed_checkpoint_unpacks_to_the_same_files_and_loads(checkpoint: Path, tmp_path: Path):
    archive = pack_checkpoint(checkpoint, tmp_path / "cp.zip")
    weights = unpack_checkpoint(archive, tmp_path / "out", "again")
    assert weights.read_bytes() == checkpoint.read_bytes()
    state = checkpoint.with_name("cp.state.safetensors").read_bytes()
    assert weights.with_name("again.state.safetensors").read_bytes() == state
    loaded = load_checkpoint(weights)
    assert loaded.meta["env_steps"] == 300 and loaded.state["optim"]["step"] == 3
    assert torch.equal(
        loaded.weights["layers.0.weight"], load_checkpoint(checkpoint).weights["layers.0.weight"]
    )


def test_the_command_line_packs_and_unpacks(checkpoint: Path, tmp_path: Path, capsys):
    main(["pack", str(checkpoint), str(tmp_path / "cli.zip")])
    main(["unpack", str(tmp_path / "cli.zip"), str(tmp_path / "cli")])
    assert (tmp_path / "cli" / "cp.safetensors").read_bytes() == checkpoint.read_bytes()
    assert "cp.safetensors" in capsys.readouterr().out


def test_a_hostile_archive_is_refused_before_anything_is_written(checkpoint: Path, tmp_path: Path):
    genuine = pack_checkpoint(checkpoint, tmp_path / "cp.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(genuine)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    hostile = io.BytesIO()
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr(SPEC, members[SPEC])
        archive.writestr(WEIGHTS, members[WEIGHTS])
        archive.writestr("../cp.json", b"{}")
    (tmp_path / "hostile.zip").write_bytes(hostile.getvalue())
    with pytest.raises(ArchiveError, match="points outside the archive"):
        unpack_checkpoint(tmp_path / "hostile.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "cp.json").exists()
