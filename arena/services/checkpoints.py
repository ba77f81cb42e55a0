"""Checkpoints: rows for the files `marl` writes, one version sequence per agent and seat (agent_id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from arena import live
from arena.models import Checkpoint, TrainingRun


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(settings.MEDIA_ROOT).resolve()))
    except ValueError:
        raise ValueError(f"checkpoint {path} is outside MEDIA_ROOT") from None


def checkpoint_record(*, run_id: int, seat: str, path: Path | str, meta: dict[str, Any]) -> Checkpoint:
    """Record a checkpoint file the run just wrote (complete: its sidecar is on disk).

    Idempotent on the path, so a redelivered run that re-records a file gets the existing row; the
    version is the next of this agent's agent_id, so versions never gap or repeat.
    """
    relative = _relative(Path(path))
    run = TrainingRun.objects.select_related("agent").get(pk=run_id)
    for _ in range(3):
        try:
            with transaction.atomic():
                existing = Checkpoint.objects.filter(agent=run.agent, path=relative).first()
                if existing:
                    return existing
                siblings = Checkpoint.objects.select_for_update().filter(agent=run.agent, seat=seat)
                last = siblings.aggregate(Max("version"))["version__max"] or 0
                parent = siblings.filter(version=last).first() if last else None
                checkpoint = Checkpoint.objects.create(
                    agent=run.agent,
                    seat=seat,
                    version=last + 1,
                    env_steps=int(meta.get("env_steps", 0)),
                    path=relative,
                    sha256=str(meta.get("sha256", "")),
                    metrics=meta.get("metrics") or {},
                    parent=parent,
                    training_run=run,
                )
            break
        except IntegrityError:  # two writers raced for the same version: read again and retry
            continue
    else:
        raise RuntimeError(f"could not record checkpoint {relative}")
    live.publish(
        live.agent_group(run.agent_id),
        {"type": "checkpoint", "agent_id": run.agent_id, "checkpoint": checkpoint_json(checkpoint)},
    )
    return checkpoint


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "agent": checkpoint.agent_id,
        "agent_name": checkpoint.agent.name,
        "seat": checkpoint.seat,
        "version": checkpoint.version,
        "env_steps": checkpoint.env_steps,
        "sha256": checkpoint.sha256,
        "metrics": checkpoint.metrics,
        "parent": checkpoint.parent_id,
        "created_at": checkpoint.created_at.isoformat(),
    }
