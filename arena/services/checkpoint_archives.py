"""A checkpoint as one zip archive (`marl.checkpoint_archives`): exported with its provenance, and read
back for an import.

The archive holds `spec.json`, `weights.safetensors` and (when the checkpoint has one)
`state.safetensors`. The spec carries the sidecar that `checkpoint_import` verifies, the SHA-256 of
each member and the provenance the checkpoint page shows. The marl reader trusts nothing (member names,
compression, sizes while reading, hashes); its refusals become ValidationErrors here, and the files
inside are then verified as any upload is (safetensors only, never a pickle).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Checkpoint
from arena.services.provenance import checkpoint_files, checkpoint_provenance, checkpoint_public_sidecar
from marl.checkpoint_archives import SPEC, STATE, WEIGHTS, ArchiveError, read_archive, write_archive

__all__ = ["SPEC", "STATE", "WEIGHTS", "ArchiveParts", "archive_read", "checkpoint_export"]

SPOOL_BYTES = 16 * 1024 * 1024  # an export is built in memory up to this size, on disk past it
_LINEAGE_KEPT = 50  # ancestors an import keeps from the archive's provenance


# ------------------------------------------------------------------------------------------- export
def checkpoint_export(*, checkpoint_id: int) -> tuple[str, IO[bytes]]:
    """The checkpoint's archive as (file name, a file positioned at its start).

    Each file is hashed as it is copied in and must match its sidecar: an export never ships a file
    that changed on disk. Raises ValidationError when the files are missing or changed.
    """
    checkpoint = Checkpoint.objects.select_related("agent__game", "agent__owner", "training_run").get(
        pk=checkpoint_id
    )
    sidecar = checkpoint_public_sidecar(checkpoint)  # its pool may name files on this server
    if sidecar is None:  # unreadable, or its row points outside the media folder
        raise ValidationError(f"{checkpoint} has no readable sidecar; it cannot be exported")
    paths = checkpoint_files(checkpoint)
    files = [(WEIGHTS, paths["weights"])] + ([(STATE, paths["state"])] if sidecar["state_sha256"] else [])
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open, the response closes it
    try:
        write_archive(out, sidecar=sidecar, files=files, provenance=checkpoint_provenance(checkpoint))
    except ArchiveError as exc:
        out.close()
        raise ValidationError(f"{checkpoint} cannot be exported: {exc}") from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    name = f"{checkpoint.agent.name}-{checkpoint.seat}-v{checkpoint.version}.arena.zip"
    return name, out


# ------------------------------------------------------------------------------------------- import
@dataclass
class ArchiveParts:
    """What an archive brought, checked against its spec; the files are verified by the import."""

    weights: bytes
    sidecar: dict[str, Any]
    state: bytes | None
    imported_from: dict[str, Any]


def _refuse(message: str) -> ValidationError:
    return ValidationError(f"archive refused: {message}")


def archive_read(data: bytes) -> ArchiveParts:
    """Open an uploaded archive and check its members and spec; raises ValidationError."""
    try:
        parts = read_archive(data, member_limit=settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES)
    except ArchiveError as exc:
        raise _refuse(str(exc)) from None
    return ArchiveParts(
        weights=parts["weights"],
        sidecar=parts["spec"]["sidecar"],
        state=parts["state"],
        imported_from=_imported_from(parts["spec"].get("provenance")),
    )


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _imported_from(provenance: Any) -> dict[str, Any]:
    """Where the archive says it came from, kept with the import: a bounded summary, typed field by
    field (the archive is the sender's word, shown as such)."""
    provenance = provenance if isinstance(provenance, dict) else {}
    source = provenance.get("checkpoint") if isinstance(provenance.get("checkpoint"), dict) else {}
    lineage = provenance.get("lineage") if isinstance(provenance.get("lineage"), list) else []
    return {
        "label": _text(source.get("label")),
        "checkpoint": _int(source.get("id")),
        "sha256": _text(source.get("sha256"), 64),
        "owner": _text(source.get("owner"), 150),
        "exported_at": _text(provenance.get("at"), 40),
        "lineage": [
            {"label": _text(item.get("label")), "sha256": _text(item.get("sha256"), 64)}
            for item in lineage[:_LINEAGE_KEPT]
            if isinstance(item, dict)
        ],
    }
