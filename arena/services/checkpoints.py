"""Checkpoints: rows for the files `marl` writes, one version sequence per agent and seat (agent_id)."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from arena import live
from arena.dispatch import task_send_on_commit
from arena.models import Agent, Checkpoint, TrainingRun
from arena.ratelimit import rate_hit
from arena.serializers import checkpoint_json, checkpoint_row_json
from arena.services.agents import agent_check_owner
from arena.services.checkpoint_archives import archive_read
from marl.errors import MarlError
from marl.games import get_game


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(settings.MEDIA_ROOT).resolve()))
    except ValueError:
        raise ValueError(f"checkpoint {path} is outside MEDIA_ROOT") from None


def checkpoint_record(*, run_id: int, seat: str, path: Path | str, meta: dict[str, Any]) -> Checkpoint:
    """Record a checkpoint file the run just wrote (its sidecar is on disk), as the next version of its
    seat. Idempotent on the path: a redelivered run that records a file again gets the existing row."""
    relative = _relative(Path(path))
    run = TrainingRun.objects.select_related("agent").get(pk=run_id)
    checkpoint = _row_create(agent=run.agent, seat=seat, relative=relative, meta=meta, run=run)
    _publish(checkpoint)
    return checkpoint


def _row_create(
    *, agent: Agent, seat: str, relative: str, meta: dict[str, Any], run: TrainingRun | None
) -> Checkpoint:
    """The row for a file in `seat` (the existing one if the path is known there), with the next version of
    its seat. A network that serves every seat is one file with a row per seat, so its entrant has a
    policy for each."""
    for _ in range(3):
        try:
            with transaction.atomic():
                existing = Checkpoint.objects.filter(agent=agent, seat=seat, path=relative).first()
                return existing or _next_version(agent, seat, relative, meta, run)
        except IntegrityError:  # two writers raced for the same version: read again and retry
            continue
    raise RuntimeError(f"could not record checkpoint {relative}")


def _next_version(
    agent: Agent, seat: str, relative: str, meta: dict[str, Any], run: TrainingRun | None
) -> Checkpoint:
    """A new row one version past the seat's newest, which becomes its parent."""
    siblings = Checkpoint.objects.select_for_update().filter(agent=agent, seat=seat)
    last = siblings.aggregate(Max("version"))["version__max"] or 0
    checkpoint = Checkpoint.objects.create(
        agent=agent,
        seat=seat,
        version=last + 1,
        env_steps=int(meta.get("env_steps", 0)),
        path=relative,
        sha256=str(meta.get("sha256", "")),
        metrics=meta.get("metrics") or {},
        parent=siblings.filter(version=last).first() if last else None,
        training_run=run,
    )
    # Every checkpoint is rated and measured without anyone asking (the evaluation queue).
    task_send_on_commit("arena.tasks.checkpoint_calibrate", checkpoint.pk)
    task_send_on_commit("arena.tasks.checkpoint_strength", checkpoint.pk)
    if get_game(agent.game.name).exploitability is not None:  # an exact measure (Leduc)
        task_send_on_commit("arena.tasks.checkpoint_exploitability", checkpoint.pk)
    return checkpoint


# ------------------------------------------------------------------------------------------- import
MAX_IMPORT_ENV_STEPS = 10**12  # far past any real run; larger numbers are garbage or an attack


def _upload_bytes(upload: Any, limit: int, what: str) -> bytes:
    """The upload's bytes, refused before reading when it is over `limit` (size comes from the parser)."""
    if upload is None:
        raise ValidationError(f"the {what} file is missing")
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(f"the {what} file is {size} bytes; the limit is {limit}")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"the {what} file is over the {limit}-byte limit")
    return data


def _import_check_meta(*, agent: Agent, meta: Any) -> str:
    """Game, algorithm, network, seat and numbers of an uploaded sidecar against the agent; the seat.

    Runs before marl builds a network from the sidecar, so an absurd network spec never allocates.
    """
    if not isinstance(meta, dict):
        raise ValidationError("the sidecar must be a JSON object")
    _import_check_kind(agent, meta)
    seat = meta.get("agent_id")
    if seat not in agent.learning_seats:
        raise ValidationError(
            f"the sidecar's agent_id {str(seat)[:32]!r} is not one this agent learns "
            f"({', '.join(agent.learning_seats)})"
        )
    steps = meta.get("env_steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= MAX_IMPORT_ENV_STEPS:
        raise ValidationError(f"env_steps must be an integer from 0 to {MAX_IMPORT_ENV_STEPS}")
    return seat


def _import_check_kind(agent: Agent, meta: dict[str, Any]) -> None:
    """The sidecar's game, algorithm and network are the agent's."""
    from marl.nets import validate_network_spec  # lazy: torch

    game = meta.get("game")
    try:
        get_game(str(game))
    except MarlError:
        raise ValidationError(f"the sidecar names an unknown game {str(game)[:40]!r}") from None
    if game != agent.game.name:
        raise ValidationError(
            f"this checkpoint is for {game}, but agent {agent.name} plays {agent.game.name}"
        )
    if meta.get("algorithm") != agent.algorithm:
        raise ValidationError(
            f"this checkpoint is {str(meta.get('algorithm'))[:20]}, but the agent learns with {agent.algorithm}"
        )
    try:
        same_net = validate_network_spec(meta.get("network")) == validate_network_spec(agent.network)
    except MarlError as exc:
        raise ValidationError(f"the sidecar's network is invalid: {exc}") from None
    if not same_net:
        raise ValidationError(f"this checkpoint's network differs from the agent's ({agent.network})")


def checkpoint_import(
    *,
    user,
    agent_id: int,
    weights: Any = None,
    sidecar: Any = None,
    state: Any = None,
    archive: Any = None,
) -> Checkpoint:
    """Add an uploaded checkpoint to an agent the user owns, as the next version of its seat: either
    the separate files (safetensors weights + JSON sidecar, optionally the training state) or one
    export archive (`checkpoint_archives`: the same files and a spec, checked member by member).

    Everything is verified in a temp folder first (sizes, sidecar schema, game/algorithm/network/seat
    against the agent, safetensors structure, sha256, tensor shapes; pickles are never parsed). A
    refused upload leaves no row and no file. Without a training state the checkpoint plays but a
    later training run starts its optimizer afresh.
    """
    from marl.checkpoints import MAX_SIDECAR_BYTES  # lazy: torch

    agent = Agent.objects.select_related("game").get(pk=agent_id)
    agent_check_owner(agent=agent, user=user)
    rate_hit(scope="import", ident=str(user.pk), limit=settings.ARENA_RATE_IMPORTS, what="checkpoint imports")
    limit = settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES
    if archive is not None:
        if weights is not None or sidecar is not None or state is not None:
            raise ValidationError("send either the export archive or the separate files, not both")
        parts = archive_read(_upload_bytes(archive, 2 * limit + 4 * MAX_SIDECAR_BYTES, "archive"))
        w_bytes, meta, s_bytes = parts.weights, parts.sidecar, parts.state
        imported_from: dict[str, Any] | None = parts.imported_from
    else:
        w_bytes = _upload_bytes(weights, limit, "weights")
        j_bytes = _upload_bytes(sidecar, MAX_SIDECAR_BYTES, "sidecar")
        s_bytes = _upload_bytes(state, limit, "training state") if state is not None else None
        try:
            meta = json.loads(j_bytes)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ValidationError("the sidecar is not valid JSON") from None
        imported_from = None
    seat = _import_check_meta(agent=agent, meta=meta)
    meta.pop("imported_from", None)  # only this import may say where the files came from
    if imported_from is not None:
        meta["imported_from"] = imported_from
    if s_bytes is None:
        meta["state_sha256"] = None  # nothing vouches for a state we do not keep
    name = f"{seat}-import-{uuid.uuid4().hex[:12]}"
    meta = _import_verify(agent, name, w_bytes, meta, s_bytes)
    checkpoint = _import_store(agent, seat, name, w_bytes, meta, s_bytes)
    _publish(checkpoint)
    return checkpoint


def _import_verify(
    agent: Agent, name: str, w_bytes: bytes, meta: dict, s_bytes: bytes | None
) -> dict[str, Any]:
    """Load the upload from a temp folder exactly as a game would (hash, structure, shapes, state);
    the verified sidecar."""
    from marl.checkpoints import load_checkpoint, read_meta  # lazy: torch

    scratch = Path(settings.MEDIA_ROOT) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        staged = Path(tmp)
        (staged / f"{name}.safetensors").write_bytes(w_bytes)
        (staged / f"{name}.json").write_bytes(json.dumps(meta).encode())
        if s_bytes is not None:
            (staged / f"{name}.state.safetensors").write_bytes(s_bytes)
        try:
            read_meta(staged / f"{name}.json")
            verified = load_checkpoint(staged / f"{name}.safetensors", game=agent.game.name)
            if s_bytes is not None:
                if not verified.meta["state_sha256"]:
                    raise ValidationError("a training state was sent but the sidecar has no state_sha256")
                verified.state  # noqa: B018 - reads and verifies the state file
        except MarlError as exc:
            raise ValidationError(f"checkpoint refused: {str(exc).replace(str(staged) + '/', '')}") from None
    return verified.meta


def _import_store(
    agent: Agent, seat: str, name: str, w_bytes: bytes, meta: dict, s_bytes: bytes | None
) -> Checkpoint:
    """Write the verified files (weights and state first, the sidecar last: its presence means
    complete) and their row; on any failure remove what was written."""
    from marl.tensor_files import atomic_write  # lazy: torch

    directory = Path(settings.MEDIA_ROOT) / "agents" / str(agent.pk) / "imported"
    directory.mkdir(parents=True, exist_ok=True)
    w_path = directory / f"{name}.safetensors"
    written = [w_path, directory / f"{name}.state.safetensors", directory / f"{name}.json"]
    try:
        atomic_write(w_path, w_bytes)
        if s_bytes is not None:
            atomic_write(written[1], s_bytes)
        atomic_write(written[2], json.dumps(meta, indent=2, sort_keys=True).encode())
        imported = {**meta, "metrics": {"imported": True}}
        return _row_create(agent=agent, seat=seat, relative=_relative(w_path), meta=imported, run=None)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _publish(checkpoint: Checkpoint) -> None:
    """Tell the agent page about a new checkpoint: the checkpoint, and its row in the page's table."""
    agent_id = checkpoint.agent_id
    message = {
        "type": "checkpoint",
        "agent_id": agent_id,
        "checkpoint": checkpoint_json(checkpoint),
        "row": checkpoint_row_json(checkpoint),
    }
    live.publish(live.agent_group(agent_id), message)


# ------------------------------------------------------------------------------------------- orphans
def checkpoint_orphans_clean(*, older_than_minutes: float | None = None) -> dict[str, int]:
    """Delete checkpoint files no row points at, and leftover temp files, older than the grace period.

    A worker killed between writing a checkpoint and recording it leaves such files (a killed writer
    leaves a `.NAME.*.tmp`). The grace period (ARENA_ORPHAN_MINUTES) keeps files a live run has just
    written and is about to record. Returns counts of deleted checkpoints and temp files.
    """
    minutes = settings.ARENA_ORPHAN_MINUTES if older_than_minutes is None else older_than_minutes
    media = Path(settings.MEDIA_ROOT)
    counts = {"checkpoints": 0, "temp_files": 0}
    known = set(Checkpoint.objects.values_list("path", flat=True))
    for path in _files_older_than(media / "agents", time.time() - minutes * 60):
        kind = _orphan_kind(path, media, known)
        if kind is None:
            continue
        path.unlink(missing_ok=True)
        if kind == "temp_files" or _counts_as_checkpoint(path):
            counts[kind] += 1
    return counts


def _files_older_than(root: Path, cutoff: float) -> list[Path]:
    """Files under `root` last written before `cutoff` (a file deleted meanwhile is skipped)."""
    old = []
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                old.append(path)
        except FileNotFoundError:
            continue
    return old


def _orphan_kind(path: Path, media: Path, known: set[str]) -> str | None:
    """ "temp_files" for a killed writer's leftover, "checkpoints" for a file of a checkpoint no row
    points at, None for anything else (a recorded checkpoint, or not ours)."""
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        return "temp_files"
    weights = _weights_of(path)
    if weights is None or str(weights.relative_to(media)) in known:
        return None
    return "checkpoints"


def _weights_of(path: Path) -> Path | None:
    """The weights file of a checkpoint file (weights, state or sidecar), or None if it is not one."""
    for suffix in (".state.safetensors", ".safetensors", ".json"):
        if path.name.endswith(suffix):
            return path.with_name(f"{path.name[: -len(suffix)]}.safetensors")
    return None


def _counts_as_checkpoint(removed: Path) -> bool:
    """One count per checkpoint: by its weights, or by a sidecar left without weights."""
    name = removed.name
    if name.endswith(".safetensors") and not name.endswith(".state.safetensors"):
        return True
    return name.endswith(".json") and not _weights_of(removed).exists()
