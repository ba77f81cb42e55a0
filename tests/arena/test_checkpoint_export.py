"""A checkpoint's export: one zip of weights, training state and spec.json that the import takes back
byte for byte, refused with a clear message and nothing stored when hostile; an imported checkpoint
trains further, and its page shows where it came from."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from arena.models import ApiToken, Checkpoint, LeagueSnapshot, TrainingRun
from arena.services.checkpoint_archives import SPEC, STATE, WEIGHTS, checkpoint_export
from arena.services.checkpoints import checkpoint_import
from arena.services.provenance import anchor_results, public_config
from arena.services.training import training_run_cancel, training_run_create
from tests.arena.conftest import refreshed, wait_until
from tests.factories import AgentFactory, LeagueFactory, checkpoint_files, checkpoint_uploaded

# One epoch of a learner in one seat: seconds.
ONE_EPOCH = {"env_steps": 200, "steps_per_epoch": 200, "num_envs": 2, "eval_games": 2, "seed": 1}


@pytest.fixture
def source(user, tmp_path, db) -> Checkpoint:
    """Ada's checkpoint with its training state, as an import of genuine files made it."""
    weights, sidecar, state = checkpoint_files(tmp_path, state=True)
    return checkpoint_uploaded(user, AgentFactory(owner=user, name="origin"), weights, sidecar, state)


@pytest.fixture
def target(user, db):
    """Ada's second agent of the same kind, empty: where archives are imported."""
    return AgentFactory(owner=user, name="copy")


def _export_bytes(checkpoint: Checkpoint) -> bytes:
    _, archive = checkpoint_export(checkpoint_id=checkpoint.pk)
    return archive.read()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore")  # a duplicate name is the point of one case
        for name, content in members:
            archive.writestr(name, content)
    return out.getvalue()


def _import(user, agent, data: bytes) -> Checkpoint:
    return checkpoint_import(
        user=user, agent_id=agent.pk, archive=SimpleUploadedFile("cp.arena.zip", data, "application/zip")
    )


def _nothing_stored(agent, media_root: Path) -> None:
    assert not Checkpoint.objects.filter(agent=agent).exists()
    stored = [p for p in (media_root / "agents" / str(agent.pk)).rglob("*") if p.is_file()]
    assert stored == [], stored
    assert not list((media_root / "tmp").rglob("*")) if (media_root / "tmp").exists() else True


def test_an_export_imported_back_holds_the_same_bytes(user, source, target):
    data = _export_bytes(source)
    members = _members(data)
    assert set(members) == {SPEC, WEIGHTS, STATE}
    weights = source.absolute_path().read_bytes()
    state = source.absolute_path().with_name(f"{Path(source.path).stem}.state.safetensors").read_bytes()
    assert members[WEIGHTS] == weights and members[STATE] == state
    spec = json.loads(members[SPEC])
    assert spec["files"][WEIGHTS]["sha256"] == hashlib.sha256(weights).hexdigest() == source.sha256
    assert spec["sidecar"]["state_sha256"] == hashlib.sha256(state).hexdigest()
    assert spec["provenance"]["checkpoint"]["label"] == str(source)
    assert spec["provenance"]["game"] == {"name": "tictactoe", "env_id": spec["sidecar"]["env_id"]}

    copy = _import(user, target, data)
    assert (copy.agent_id, copy.seat, copy.version) == (target.pk, source.seat, 1)
    assert copy.absolute_path().read_bytes() == weights and copy.sha256 == source.sha256
    assert copy.absolute_path().with_name(f"{Path(copy.path).stem}.state.safetensors").read_bytes() == state
    stored = json.loads(copy.absolute_path().with_suffix(".json").read_text())
    assert stored["imported_from"]["label"] == str(source)
    assert stored["imported_from"]["checkpoint"] == source.pk
    # Exported again, the copy's archive carries the same files.
    again = _members(_export_bytes(copy))
    assert again[WEIGHTS] == weights and again[STATE] == state


def test_the_export_is_public_as_the_downloads_are_and_on_the_api(source):
    anonymous = Client()
    response = anonymous.get(f"/checkpoints/{source.pk}/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "origin-player_1-v1.arena.zip" in response["Content-Disposition"]
    page_bytes = b"".join(response.streaming_content)
    assert _members(page_bytes)[WEIGHTS] == source.absolute_path().read_bytes()
    api = anonymous.get(f"/api/checkpoints/{source.pk}/export")
    assert api.status_code == 200 and _members(b"".join(api.streaming_content)).keys() == {
        SPEC,
        WEIGHTS,
        STATE,
    }
    assert anonymous.get("/checkpoints/999999/export/").status_code == 404
    assert anonymous.get("/api/checkpoints/999999/export").status_code == 404


def test_an_export_never_ships_a_file_that_changed_on_disk(source):
    path = source.absolute_path()
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ValidationError, match="does not match its sidecar"):
        checkpoint_export(checkpoint_id=source.pk)
    assert Client().get(f"/checkpoints/{source.pk}/export/").status_code == 404


def test_the_checkpoint_page_shows_its_provenance_card_and_lineage(user, source, target):
    copy = _import(user, target, _export_bytes(source))
    second = _import(user, target, _export_bytes(source))
    page = Client().get(f"/checkpoints/{second.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    sidecar = json.loads(second.absolute_path().with_suffix(".json").read_text())
    for expected in (
        sidecar["env_id"],
        "dqn",
        sidecar["sha256"],
        sidecar["state_sha256"],
        f"torch {sidecar['versions']['torch']}",
        f'href="/checkpoints/{copy.pk}/"',  # its parent, in the card and the lineage
        f'href="/checkpoints/{source.pk}/"',  # imported from, linked: that checkpoint is here, unchanged
        f"/checkpoints/{second.pk}/export/",
    ):
        assert expected in html, expected
    assert f'data-node="{copy.pk}"' in html and f'data-node="{second.pk}"' in html
    assert "data-line-import" in html
    assert Client().get("/checkpoints/999999/").status_code == 404


def test_the_lineage_marks_league_snapshots(user, source):
    league = LeagueFactory(user=user, name="spring")
    LeagueSnapshot.objects.create(league=league, member=league.memberships.get(), checkpoint=source, tick=3)
    html = Client().get(f"/checkpoints/{source.pk}/").content.decode()
    assert "spring · tick 3" in html and f'href="/leagues/{league.pk}/"' in html
    assert "spring tick 3" in html  # on its node in the tree
    spec = json.loads(_members(_export_bytes(source))[SPEC])
    assert spec["provenance"]["league_snapshots"] == [
        {"league": "spring", "league_id": league.pk, "tick": 3, "active": True}
    ]


def test_the_card_counts_its_calibration_games_against_each_anchor(source):
    record = {
        "games": [["me", "bot:random", 1.0], ["bot:random", "me", 0.5], ["me", "bot:minimax", 0.0]]
        + [["checkpoint:987654", "me", 1.0]],  # a rival, not an anchor
        "opponents": {"bot:random": 0.0, "bot:minimax": 563.9, "checkpoint:987654": 100.0},
    }
    Checkpoint.objects.filter(pk=source.pk).update(calibration_record=record)
    source.refresh_from_db()
    assert anchor_results(source) == [
        {"anchor": "bot:minimax", "elo": 563.9, "games": 1, "wins": 0, "draws": 0, "losses": 1, "score": 0.0},
        {"anchor": "bot:random", "elo": 0.0, "games": 2, "wins": 1, "draws": 1, "losses": 0, "score": 0.75},
    ]
    html = Client().get(f"/checkpoints/{source.pk}/").content.decode()
    assert "bot:minimax" in html and "1 / 1 / 0" in html and "checkpoint:987654" not in html
    assert json.loads(_members(_export_bytes(source))[SPEC])["provenance"]["anchors"][1]["score"] == 0.75


def test_an_export_names_pool_members_by_checkpoint_never_by_server_path(source, media_root):
    config = {"pool": [str(source.absolute_path()), "random", "/srv/elsewhere/x.safetensors"]}
    assert public_config(config)["pool"] == [f"checkpoint:{source.pk}", "random", "checkpoint:unknown"]
    sidecar_path = source.absolute_path().with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text())
    sidecar_path.write_text(json.dumps({**sidecar, "train_config": {"opponent": "pool", **config}}))
    spec = json.loads(_members(_export_bytes(source))[SPEC])
    assert str(media_root) not in json.dumps(spec)
    assert spec["sidecar"]["train_config"]["pool"][0] == f"checkpoint:{source.pk}"
    download = Client().get(reverse("checkpoint_download", args=[source.pk, "sidecar"]))
    assert download.status_code == 200 and str(media_root) not in download.content.decode()
    assert json.loads(download.content)["train_config"]["pool"] == public_config(config)["pool"]


def _patch_sizes(data: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size rewritten to `size` in both its headers: a zip that
    lies about how far it expands."""
    out = bytearray(data)
    encoded = name.encode()
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        name_len = struct.unpack("<H", out[local + 26 : local + 28])[0]
        if bytes(out[local + 30 : local + 30 + name_len]) == encoded:
            out[local + 22 : local + 26] = struct.pack("<I", size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack("<H", out[central + 28 : central + 30])[0]
        if bytes(out[central + 46 : central + 46 + name_len]) == encoded:
            out[central + 24 : central + 28] = struct.pack("<I", size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _torch_save() -> bytes:
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)
    return buffer.getvalue()


def _hostile(case: str, genuine: bytes, tmp_path: Path) -> bytes:
    """The genuine archive, bent the way `case` says."""
    members = _members(genuine)
    spec = json.loads(members[SPEC])

    def rebuilt(**changed: bytes) -> bytes:
        merged = {**members, **changed}
        return _zip([(n, c) for n, c in merged.items() if c is not None])

    def respec(weights: bytes, sidecar: dict | None = None, state: bool = True) -> bytes:
        new = json.loads(json.dumps(spec))
        new["files"][WEIGHTS]["sha256"] = hashlib.sha256(weights).hexdigest()
        if not state:
            del new["files"][STATE]
        if sidecar is not None:
            new["sidecar"] = sidecar
        return json.dumps(new).encode()

    flipped = members[WEIGHTS][:-1] + bytes([members[WEIGHTS][-1] ^ 1])
    if case == "traversal":
        return _zip([*members.items(), ("../../evil.json", b"{}")])
    if case == "absolute":
        return _zip([*members.items(), ("/etc/cron.d/evil", b"x")])
    if case == "nested":
        return _zip([(SPEC, members[SPEC]), ("dir/weights.safetensors", members[WEIGHTS])])
    if case == "pickle_member":
        return _zip([*members.items(), ("archive/data.pkl", pickle.dumps([1]))])
    if case == "torch_save":
        return _torch_save()
    if case == "raw_pickle":
        return pickle.dumps({"w": [1, 2, 3]})
    if case == "not_zip":
        return b"hello, not an archive"
    if case == "missing_weights":
        return rebuilt(**{WEIGHTS: None})
    if case == "missing_spec":
        return rebuilt(**{SPEC: None})
    if case == "missing_state":
        return rebuilt(**{STATE: None})
    if case == "duplicate":
        return _zip([*members.items(), (WEIGHTS, members[WEIGHTS])])
    if case == "sha_mismatch":
        return rebuilt(**{WEIGHTS: flipped})
    if case == "sidecar_sha_mismatch":
        return rebuilt(**{WEIGHTS: flipped, SPEC: respec(flipped)})
    if case == "pickle_weights":
        fake = pickle.dumps({"w": [1, 2, 3]})
        sidecar = {**spec["sidecar"], "sha256": hashlib.sha256(fake).hexdigest()}
        return rebuilt(**{WEIGHTS: fake, SPEC: respec(fake, sidecar)})
    if case == "other_game":
        weights, sidecar, _ = checkpoint_files(tmp_path / "c4", game="connect_four", seat="player_0")
        return _zip([(SPEC, respec(weights, sidecar, state=False)), (WEIGHTS, weights)])
    if case == "other_algorithm":
        return rebuilt(**{SPEC: respec(members[WEIGHTS], {**spec["sidecar"], "algorithm": "ppo"})})
    if case == "other_kind":
        return rebuilt(**{SPEC: json.dumps({**spec, "kind": "someone-elses-format"}).encode()})
    if case == "bad_spec":
        return rebuilt(**{SPEC: b"{" * 10})
    if case == "bzip2":
        return _zip(list(members.items()), zipfile.ZIP_BZIP2)
    bomb = b"\0" * (20 * 1024 * 1024)  # 20 MiB of zeros: about 20 KB deflated
    if case == "bomb":
        return rebuilt(**{WEIGHTS: bomb})
    if case == "lying_bomb":
        return _patch_sizes(rebuilt(**{WEIGHTS: bomb}), WEIGHTS, 1000)
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case, message",
    [
        ("traversal", "points outside the archive"),
        ("absolute", "points outside the archive"),
        ("nested", "unexpected member"),
        ("pickle_member", "pickle"),
        ("torch_save", "pickle"),
        ("raw_pickle", "pickle"),
        ("not_zip", "not a zip archive"),
        ("missing_weights", "weights.safetensors is missing"),
        ("missing_spec", "spec.json is missing"),
        ("missing_state", "lacks it"),
        ("duplicate", "twice"),
        ("sha_mismatch", "does not match its sha256 in spec.json"),
        ("sidecar_sha_mismatch", "sha256 in its sidecar"),
        ("pickle_weights", "pickle"),
        ("other_game", "is for connect_four"),
        ("other_algorithm", "learns with dqn"),
        ("other_kind", "not an Arena checkpoint export"),
        ("bad_spec", "not valid JSON"),
        ("bzip2", "stored or deflated"),
        ("bomb", "the limit is"),
        ("lying_bomb", "corrupt"),
    ],
)
def test_hostile_archives_are_refused_with_a_clear_message_and_nothing_stored(
    user, source, target, tmp_path, media_root, settings, case, message
):
    settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES = 256 * 1024  # far above the real files, far below the bomb
    data = _hostile(case, _export_bytes(source), tmp_path)
    with pytest.raises(ValidationError, match=message):
        _import(user, target, data)
    _nothing_stored(target, media_root)


def test_the_agent_page_and_the_api_take_the_archive_and_refuse_a_hostile_one(
    user, source, target, tmp_path, media_root
):
    genuine = _export_bytes(source)
    client = Client()
    client.force_login(user)
    url = f"/agents/{target.pk}/import/"
    refused = client.post(
        url, {"archive": SimpleUploadedFile("x.zip", _hostile("traversal", genuine, tmp_path))}
    )
    assert refused.status_code == 302
    messages = [str(m) for m in client.get(f"/agents/{target.pk}/").context["messages"]]
    assert any("points outside the archive" in m for m in messages), messages
    _nothing_stored(target, media_root)

    taken = client.post(url, {"archive": SimpleUploadedFile("cp.arena.zip", genuine)})
    imported = Checkpoint.objects.get(agent=target)
    assert taken.status_code == 302 and taken["Location"] == f"/checkpoints/{imported.pk}/"

    api = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user=user, name='t')[1]}")
    endpoint = f"/api/agents/{target.pk}/checkpoints"
    response = api.post(endpoint, {"archive": SimpleUploadedFile("cp.arena.zip", genuine)})
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2 and response.json()["sha256"] == source.sha256
    bad = api.post(endpoint, {"archive": SimpleUploadedFile("x.zip", _hostile("bomb", genuine, tmp_path))})
    assert bad.status_code == 400 and "archive refused" in bad.json()["error"]
    both = api.post(
        endpoint,
        {
            "archive": SimpleUploadedFile("cp.arena.zip", genuine),
            "weights": SimpleUploadedFile("w.safetensors", _members(genuine)[WEIGHTS]),
        },
    )
    assert both.status_code == 400 and "not both" in both.json()["error"]
    neither = api.post(endpoint, {})
    assert neither.status_code == 400
    assert Checkpoint.objects.filter(agent=target).count() == 2


def test_only_the_owner_imports_an_archive_into_an_agent(user, other_user, source, target, media_root):
    genuine = _export_bytes(source)
    with pytest.raises(PermissionDenied):
        _import(other_user, target, genuine)
    client = Client()
    client.force_login(other_user)
    response = client.post(f"/agents/{target.pk}/import/", {"archive": SimpleUploadedFile("a.zip", genuine)})
    assert response.status_code == 403
    _nothing_stored(target, media_root)


def test_an_imported_export_trains_further_and_its_new_version_descends_from_it(celery_worker, user):
    origin = AgentFactory(owner=user, name="origin", seat="player_1")
    first = training_run_create(user=user, agent_id=origin.pk, config=ONE_EPOCH)
    wait_until(lambda: refreshed(first).status not in TrainingRun.ACTIVE, timeout=180, message="first run")
    assert first.status == TrainingRun.COMPLETED, first.error
    trained = origin.latest_checkpoints()[0]
    spec = json.loads(_members(_export_bytes(trained))[SPEC])
    assert spec["sidecar"]["state_sha256"] and spec["provenance"]["training_run"]["id"] == first.pk
    assert spec["provenance"]["train_config"]["env_steps"] == first.config["env_steps"]

    elsewhere = AgentFactory(owner=user, name="elsewhere", seat="player_1")
    imported = _import(user, elsewhere, _export_bytes(trained))
    further = training_run_create(user=user, agent_id=elsewhere.pk, config=ONE_EPOCH)
    assert further.config["start_from"] == {"player_1": imported.pk}
    assert further.env_steps_total == imported.env_steps + ONE_EPOCH["env_steps"]
    wait_until(lambda: refreshed(further).status not in TrainingRun.ACTIVE, timeout=180, message="second run")
    assert further.status == TrainingRun.COMPLETED, further.error
    newest = elsewhere.latest_checkpoints()[0]
    assert newest.training_run_id == further.pk and newest.version == 2
    assert newest.parent_id == imported.pk and newest.env_steps > imported.env_steps
    sidecar = json.loads(newest.absolute_path().with_suffix(".json").read_text())
    assert sidecar["parent_sha256"] == imported.sha256  # marl resumed from the imported files


def test_an_export_trained_further_elsewhere_with_marl_is_imported_back(celery_worker, user, tmp_path):
    """Away from the site: unpack the export, train on with `marl.train --resume`, pack the newest
    checkpoint and import that archive; the site keeps its training state and its lineage."""
    from marl.checkpoint_archives import pack_checkpoint, unpack_checkpoint
    from marl.train import train

    origin = AgentFactory(owner=user, name="origin", seat="player_1")
    run = training_run_create(user=user, agent_id=origin.pk, config=ONE_EPOCH)
    wait_until(lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=180, message="the run")
    assert run.status == TrainingRun.COMPLETED, run.error
    trained = origin.latest_checkpoints()[0]
    export = tmp_path / "export.zip"
    export.write_bytes(_export_bytes(trained))

    resumed = unpack_checkpoint(export, tmp_path / "away")
    config = {**run.config, "env_steps": trained.env_steps + ONE_EPOCH["env_steps"]}
    config.pop("start_from")
    result = train(config, out_dir=tmp_path / "away" / "run", resume_from={"player_1": resumed})
    newest = result.checkpoints["player_1"]
    back = pack_checkpoint(newest, tmp_path / "back.zip")

    home = _import(user, origin, back.read_bytes())
    assert home.version == trained.version + 1 and home.parent_id == trained.pk
    assert home.env_steps == result.env_steps > trained.env_steps
    assert home.absolute_path().read_bytes() == newest.read_bytes()
    sidecar = json.loads(home.absolute_path().with_suffix(".json").read_text())
    assert sidecar["parent_sha256"] == trained.sha256 and sidecar["state_sha256"]
    # and it trains on here, from the state it came back with
    further = training_run_create(user=user, agent_id=origin.pk, config=ONE_EPOCH)
    assert further.config["start_from"] == {"player_1": home.pk}
    training_run_cancel(user=user, run_id=further.pk)
