"""Checkpoint files: a verified upload becomes the next version; every bad one is refused with a clear
message and leaves nothing behind (no row, no file); downloads are named and stay inside MEDIA_ROOT."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import pytest
import torch
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from arena.models import ApiToken, Checkpoint
from marl.checkpoints import load_agent
from tests.factories import CheckpointFactory, checkpoint_files, checkpoint_uploaded


def _nothing_stored(media_root: Path) -> None:
    assert not Checkpoint.objects.exists()
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert stored == [], stored


def test_a_genuine_checkpoint_is_imported_as_the_next_version(user, agent, tmp_path, media_root, db):
    weights, sidecar, _ = checkpoint_files(tmp_path)
    first = checkpoint_uploaded(user, agent, weights, sidecar)
    second = checkpoint_uploaded(user, agent, weights, sidecar)
    assert (first.seat, first.version, second.version) == ("player_1", 1, 2)
    assert second.parent_id == first.pk and first.sha256 == hashlib.sha256(weights).hexdigest()
    assert first.absolute_path().read_bytes() == weights
    assert load_agent(first.absolute_path()) is not None  # plays: verified again on load
    stored = json.loads(first.absolute_path().with_suffix(".json").read_text())
    assert stored["state_sha256"] is None  # no state came with it, so none is claimed
    assert not list(media_root.rglob("*.tmp")) and not list((media_root / "tmp").iterdir())


def test_a_checkpoint_with_its_training_state_keeps_it(user, agent, tmp_path, db):
    weights, sidecar, state = checkpoint_files(tmp_path, state=True)
    checkpoint = checkpoint_uploaded(user, agent, weights, sidecar, state)
    assert checkpoint.absolute_path().with_name(f"{Path(checkpoint.path).stem}.state.safetensors").is_file()


def test_the_api_imports_multipart_uploads(user, agent, tmp_path, db):
    weights, sidecar, _ = checkpoint_files(tmp_path)
    client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user=user, name='t')[1]}")
    files = {
        "weights": SimpleUploadedFile("w.safetensors", weights),
        "sidecar": SimpleUploadedFile("w.json", json.dumps(sidecar).encode()),
    }
    response = client.post(f"/api/agents/{agent.pk}/checkpoints", files)
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1
    bad = client.post(
        f"/api/agents/{agent.pk}/checkpoints",
        {"weights": SimpleUploadedFile("w.safetensors", b"\x80junk"), "sidecar": files["sidecar"]},
    )
    assert bad.status_code == 400 and "error" in bad.json()


def _rehash(sidecar: dict, weights: bytes) -> dict:
    """A sidecar vouching for `weights`: the attacker controls both files."""
    return {**sidecar, "sha256": hashlib.sha256(weights).hexdigest()}


def _other_shapes(tmp_path: Path) -> bytes:
    weights, _, _ = checkpoint_files(tmp_path / "other", network={"kind": "mlp", "hidden": [8]})
    return weights


def _huge_header() -> bytes:
    return (2**40).to_bytes(8, "little") + b"{}" + b"\0" * 64


def _zip_pickle() -> bytes:
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "case, message",
    [
        ("wrong_shapes", "needs"),
        ("huge_header", "exceeds"),
        ("hash_mismatch", "sha256"),
        ("pickle", "pickle"),
        ("torch_zip", "zip archive"),
        ("truncated", "truncated"),
        ("unknown_game", "unknown game"),
        ("other_game", "is for connect_four"),
        ("other_network", "network differs"),
        ("absurd_network", "widths"),
        ("absurd_steps", "env_steps"),
        ("negative_steps", "env_steps"),
        ("not_a_seat", "agent_id"),
        ("other_algorithm", "learns with dqn"),
        ("not_json", "not valid JSON"),
        ("json_list", "JSON object"),
        ("missing_key", "lacks"),
        ("bad_sha_format", "sha256"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(user, agent, tmp_path, media_root, case, message, db):
    weights, sidecar, _ = checkpoint_files(tmp_path)
    if case == "wrong_shapes":
        weights = _other_shapes(tmp_path)
        sidecar = _rehash(sidecar, weights)
    elif case == "huge_header":
        weights = _huge_header()
        sidecar = _rehash(sidecar, weights)
    elif case == "hash_mismatch":
        weights = weights[:-1] + bytes([weights[-1] ^ 1])
    elif case == "pickle":
        weights = pickle.dumps({"w": [1, 2, 3]})
        sidecar = _rehash(sidecar, weights)
    elif case == "torch_zip":
        weights = _zip_pickle()
        sidecar = _rehash(sidecar, weights)
    elif case == "truncated":
        weights = weights[:-16]
        sidecar = _rehash(sidecar, weights)
    elif case == "unknown_game":
        sidecar["game"] = "chess960"
    elif case == "other_game":
        weights, sidecar, _ = checkpoint_files(tmp_path, game="connect_four")
    elif case == "other_network":
        sidecar["network"] = {"kind": "mlp", "hidden": [32]}
    elif case == "absurd_network":
        sidecar["network"] = {"kind": "mlp", "hidden": [10**9, 10**9]}
    elif case == "absurd_steps":
        sidecar["env_steps"] = 10**18
    elif case == "negative_steps":
        sidecar["env_steps"] = -1
    elif case == "not_a_seat":
        sidecar["agent_id"] = "player_3"
    elif case == "other_algorithm":
        sidecar["algorithm"] = "ppo"
    elif case == "not_json":
        sidecar = b"\xff{not json"
    elif case == "json_list":
        sidecar = b"[1, 2]"
    elif case == "missing_key":
        del sidecar["created_at"]
    elif case == "bad_sha_format":
        sidecar["sha256"] = "../../etc/passwd"
    with pytest.raises(ValidationError, match=message) as refused:
        checkpoint_uploaded(user, agent, weights, sidecar)
    assert str(tmp_path) not in str(refused.value)  # messages do not leak server paths
    _nothing_stored(media_root)


def test_a_tampered_training_state_is_refused(user, agent, tmp_path, media_root, db):
    weights, sidecar, state = checkpoint_files(tmp_path, state=True)
    with pytest.raises(ValidationError, match="sha256"):
        checkpoint_uploaded(user, agent, weights, sidecar, state[:-1] + bytes([state[-1] ^ 1]))
    _nothing_stored(media_root)


def test_only_the_owner_can_import(other_user, agent, tmp_path, media_root, db):
    weights, sidecar, _ = checkpoint_files(tmp_path)
    with pytest.raises(PermissionDenied):
        checkpoint_uploaded(other_user, agent, weights, sidecar)
    _nothing_stored(media_root)


def test_training_cannot_continue_from_a_weights_only_import(user, agent, tmp_path, db):
    from arena.models import TrainingRun
    from arena.services.training import training_run_create

    weights, sidecar, _ = checkpoint_files(tmp_path)
    checkpoint_uploaded(user, agent, weights, sidecar)
    with pytest.raises(ValidationError, match="no training state"):
        training_run_create(user=user, agent_id=agent.pk, config={"env_steps": 100})
    assert not TrainingRun.objects.exists()


def test_the_agent_page_imports_for_its_owner_only(user, other_user, agent, tmp_path, client, db):
    weights, sidecar, _ = checkpoint_files(tmp_path)

    def upload():
        return client.post(
            f"/agents/{agent.pk}/import/",
            {
                "weights": SimpleUploadedFile("w.safetensors", weights),
                "sidecar": SimpleUploadedFile("w.json", json.dumps(sidecar).encode()),
            },
        )

    client.force_login(other_user)
    assert upload().status_code == 403
    assert not Checkpoint.objects.exists()
    client.force_login(user)
    response = upload()
    assert response.status_code == 302 and Checkpoint.objects.filter(agent=agent, version=1).exists()
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "Import a checkpoint" in page and "Imported" in page


def test_checkpoint_downloads_have_proper_names(client, agent, db):
    checkpoint = CheckpointFactory(agent=agent)
    weights = client.get(reverse("checkpoint_download", args=[checkpoint.pk, "weights"]))
    assert weights.status_code == 200
    assert b"".join(weights.streaming_content) == checkpoint.absolute_path().read_bytes()
    assert 'filename="learner-player_1-v1.safetensors"' in weights["Content-Disposition"]
    sidecar = client.get(reverse("checkpoint_download", args=[checkpoint.pk, "sidecar"]))
    assert json.loads(sidecar.content)["sha256"] == checkpoint.sha256
    assert 'filename="learner-player_1-v1.json"' in sidecar["Content-Disposition"]
    assert client.get(f"/checkpoints/{checkpoint.pk}/download/other/").status_code == 404


def test_checkpoint_paths_cannot_leave_media_root(client, agent, db):
    checkpoint = CheckpointFactory(agent=agent)
    Checkpoint.objects.filter(pk=checkpoint.pk).update(path="../../etc/passwd")
    assert client.get(reverse("checkpoint_download", args=[checkpoint.pk, "weights"])).status_code == 404
