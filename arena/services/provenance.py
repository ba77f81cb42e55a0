"""A checkpoint's provenance: where it came from and what it is worth, for its page and its export.

The page and the archive's spec.json are built from the same dict (`checkpoint_provenance`), so what a
person reads and what travels with the files cannot disagree. Nothing here names a server path: a
pool member stored as a file is written back as `checkpoint:<id>`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from arena.models import Checkpoint, LeagueSnapshot
from arena.selectors import checkpoint_rating_json
from arena.services.calibration import ME, calibration_json, calibration_text
from arena.services.strength import strength_summary
from marl.errors import MarlError

LINEAGE_LIMIT = 500  # checkpoints of one agent drawn in its tree; older ones are left out


def checkpoint_files(checkpoint: Checkpoint) -> dict[str, Path]:
    """The checkpoint's files on disk (weights, training state, sidecar), inside MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT).resolve()
    weights = (root / checkpoint.path).resolve()
    if root not in weights.parents:  # a row's path is relative to MEDIA_ROOT; never step outside it
        raise MarlError(f"checkpoint {checkpoint.pk} points outside the media folder")
    stem = weights.name[: -len(".safetensors")] if weights.name.endswith(".safetensors") else weights.stem
    return {
        "weights": weights,
        "state": weights.with_name(f"{stem}.state.safetensors"),
        "sidecar": weights.with_name(f"{stem}.json"),
    }


def checkpoint_sidecar(checkpoint: Checkpoint) -> dict[str, Any] | None:
    """The checkpoint's verified sidecar (schema-checked, size-bounded), or None if it is unreadable."""
    from marl.checkpoints import read_meta  # lazy: torch

    try:
        return read_meta(checkpoint_files(checkpoint)["sidecar"])
    except MarlError:
        return None


def checkpoint_public_sidecar(checkpoint: Checkpoint) -> dict[str, Any] | None:
    """The sidecar as a download or an export shows it: its training config's pool by checkpoint, never
    by server path (None if it is unreadable). The import takes it back as it is."""
    sidecar = checkpoint_sidecar(checkpoint)
    if sidecar is not None and "train_config" in sidecar:
        sidecar["train_config"] = public_config(sidecar["train_config"])
    return sidecar


def public_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """A training config as a page may show it: pool members that are files named by their checkpoint."""
    if not isinstance(config, dict):
        return None
    pool = config.get("pool")
    if not isinstance(pool, list):
        return config
    media = Path(settings.MEDIA_ROOT).resolve()
    named = []
    for member in pool:
        if isinstance(member, str) and ("/" in member or "\\" in member):
            try:
                relative = str(Path(member).resolve().relative_to(media))
            except ValueError:
                relative = None
            found = Checkpoint.objects.filter(path=relative).first() if relative else None
            named.append(f"checkpoint:{found.pk}" if found else "checkpoint:unknown")
        else:
            named.append(member)
    return {**config, "pool": named}


def _brief(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "label": checkpoint.label,
        "version": checkpoint.version,
        "seat": checkpoint.seat,
        "env_steps": checkpoint.env_steps,
        "sha256": checkpoint.sha256,
        "training_run": checkpoint.training_run_id,
    }


def anchor_results(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """Its calibration games against each anchor (a reference bot): wins, draws, losses, score share
    and the anchor's pinned Elo, from the record the calibration stored."""
    record = checkpoint.calibration_record or {}
    tally: dict[str, list[float]] = {}
    for game in record.get("games", []):
        first, second, score = game
        opponent, mine = (second, score) if first == ME else (first, 1.0 - score)
        if isinstance(opponent, str) and opponent.startswith("bot:"):
            tally.setdefault(opponent, []).append(float(mine))
    rows = []
    for opponent, scores in sorted(tally.items()):
        rows.append(
            {
                "anchor": opponent,
                "elo": record.get("opponents", {}).get(opponent),
                "games": len(scores),
                "wins": sum(1 for s in scores if s == 1.0),
                "draws": sum(1 for s in scores if s == 0.5),
                "losses": sum(1 for s in scores if s == 0.0),
                "score": round(sum(scores) / len(scores), 3),
            }
        )
    return rows


def _ancestors(checkpoint: Checkpoint, by_id: dict[int, Checkpoint]) -> list[Checkpoint]:
    """Parent, grandparent, … (within the agent: parents never cross agents)."""
    chain, seen, current = [], {checkpoint.pk}, checkpoint
    while current.parent_id and current.parent_id not in seen:
        parent = by_id.get(current.parent_id) or Checkpoint.objects.filter(pk=current.parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        current = parent
    return chain


def _file_sha(path: Path) -> str | None:
    """SHA-256 of a small file (the sidecar), or None when it is missing."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.stat().st_size <= 2**20 else None
    except OSError:
        return None


def checkpoint_provenance(checkpoint: Checkpoint) -> dict[str, Any]:
    """Everything known about where the checkpoint came from and how strong it is (JSON-ready)."""
    agent = checkpoint.agent
    sidecar = checkpoint_sidecar(checkpoint) or {}
    siblings = {c.pk: c for c in agent.checkpoints.all()[:LINEAGE_LIMIT]}
    run = checkpoint.training_run
    try:
        sidecar_sha = _file_sha(checkpoint_files(checkpoint)["sidecar"])
    except MarlError:
        sidecar_sha = None
    rating = checkpoint_rating_json(checkpoint)
    snapshots = LeagueSnapshot.objects.filter(checkpoint=checkpoint).select_related("league")
    return {
        "checkpoint": {
            **_brief(checkpoint),
            "agent": agent.name,
            "agent_id": agent.pk,
            "owner": str(agent.owner),
            "created_at": checkpoint.created_at.isoformat(),
        },
        "game": {"name": agent.game.name, "env_id": sidecar.get("env_id", agent.game.env_id)},
        "algorithm": sidecar.get("algorithm", agent.algorithm),
        "network": sidecar.get("network", agent.network),
        "env_steps": checkpoint.env_steps,
        "training_run": {"id": run.pk, "status": run.status} if run else None,
        "train_config": public_config(run.config if run else sidecar.get("train_config")),
        "parent": _brief(checkpoint.parent) if checkpoint.parent_id and checkpoint.parent else None,
        "lineage": [_brief(c) for c in _ancestors(checkpoint, siblings)],
        "league_snapshots": [
            {"league": s.league.name, "league_id": s.league_id, "tick": s.tick, "active": s.active}
            for s in snapshots
        ],
        "imported_from": sidecar.get("imported_from"),
        "versions": sidecar.get("versions", {}),
        "files": {
            "weights": {"sha256": checkpoint.sha256},
            "state": {"sha256": sidecar.get("state_sha256")},
            "sidecar": {"sha256": sidecar_sha},
        },
        "rating": rating["rating"],
        "calibration": calibration_json(checkpoint),
        "calibration_text": calibration_text(calibration_json(checkpoint)),
        "strength": checkpoint.strength or {},
        "strength_text": strength_summary(checkpoint.strength or {}),
        "anchors": anchor_results(checkpoint),
        "at": timezone.now().isoformat(timespec="seconds"),
    }


def import_source(imported_from: dict[str, Any] | None) -> Checkpoint | None:
    """The checkpoint on this site an archive says it came from, if it is here with the same weights."""
    source = imported_from or {}
    if not isinstance(source.get("checkpoint"), int) or not isinstance(source.get("sha256"), str):
        return None
    return Checkpoint.objects.filter(pk=source["checkpoint"], sha256=source["sha256"]).first()


def line_import(checkpoint: Checkpoint) -> dict[str, Any] | None:
    """Where the checkpoint's line last came in by import: that checkpoint (itself or its nearest
    imported ancestor), what its archive said, and the source when it is on this site."""
    by_id = {c.pk: c for c in checkpoint.agent.checkpoints.all()[:LINEAGE_LIMIT]}
    for node in [checkpoint, *_ancestors(checkpoint, by_id)]:
        if (node.metrics or {}).get("imported"):
            said = (checkpoint_sidecar(node) or {}).get("imported_from")
            return {"checkpoint": node, "imported_from": said, "source": import_source(said)}
    return None


def lineage_tree(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """The agent's checkpoints as a tree by parent link, depth first, for a page to indent: a chain
    stays at one depth, each branch goes one deeper. Each node carries its league snapshots and
    whether it is this checkpoint or one of its ancestors."""
    nodes = list(
        checkpoint.agent.checkpoints.select_related("training_run").order_by("seat", "version")[
            :LINEAGE_LIMIT
        ]
    )
    by_id = {c.pk: c for c in nodes}
    children: dict[int | None, list[Checkpoint]] = {}
    for node in nodes:
        children.setdefault(node.parent_id if node.parent_id in by_id else None, []).append(node)
    ancestors = {c.pk for c in _ancestors(checkpoint, by_id)}
    snapshots: dict[int, list[LeagueSnapshot]] = {}
    for snap in LeagueSnapshot.objects.filter(checkpoint__in=nodes).select_related("league"):
        snapshots.setdefault(snap.checkpoint_id, []).append(snap)
    tree, stack = [], [(root, 0) for root in reversed(children.get(None, []))]
    while stack:  # iterative: a long chain would overflow a recursive walk
        node, depth = stack.pop()
        kids = children.get(node.pk, [])
        tree.append(
            {
                "checkpoint": node,
                "depth": min(depth, 12),
                "current": node.pk == checkpoint.pk,
                "ancestor": node.pk in ancestors,
                "imported": bool((node.metrics or {}).get("imported")),
                "snapshots": snapshots.get(node.pk, []),
            }
        )
        step = 1 if len(kids) > 1 else 0
        stack.extend((kid, depth + step) for kid in reversed(kids))
    return tree
