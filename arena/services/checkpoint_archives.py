"""A checkpoint as one zip archive: its weights, its training state and a JSON spec, and back.

The archive holds exactly `spec.json`, `weights.safetensors` and (when the checkpoint has one)
`state.safetensors`, at its root. The spec carries the sidecar that `checkpoint_import` verifies, the
SHA-256 of each member and the provenance the checkpoint page shows. Reading one trusts nothing: only
those member names, stored or deflated, each read with a byte limit (a zip bomb stops at the limit,
whatever size it declares), hashed against the spec; the files inside are then verified as any upload
is (safetensors only, never a pickle).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Checkpoint
from arena.services.provenance import checkpoint_files, checkpoint_provenance, public_config
from marl.errors import MarlError

KIND = "arena-checkpoint-export"
FORMAT = 1
SPEC, WEIGHTS, STATE = "spec.json", "weights.safetensors", "state.safetensors"
MEMBERS = (SPEC, WEIGHTS, STATE)
SPEC_MAX_BYTES = 2 * 1024 * 1024  # the sidecar (at most 1 MiB) and the provenance
SPOOL_BYTES = 16 * 1024 * 1024  # an export is built in memory up to this size, on disk past it
_CHUNK = 1024 * 1024
_LINEAGE_KEPT = 50  # ancestors an import keeps from the archive's provenance
_MAX_ENTRIES = 16  # entries zipfile may parse; past the three names they are refused one by one


# ------------------------------------------------------------------------------------------- export
def checkpoint_export(*, checkpoint_id: int) -> tuple[str, IO[bytes]]:
    """The checkpoint's archive as (file name, a file positioned at its start).

    Each file is hashed as it is copied in and must match its sidecar: an export never ships a file
    that changed on disk. Raises ValidationError when the files are missing or changed.
    """
    checkpoint = Checkpoint.objects.select_related("agent__game", "agent__owner", "training_run").get(
        pk=checkpoint_id
    )
    from marl.checkpoints import read_meta  # lazy: torch

    try:
        paths = checkpoint_files(checkpoint)
        sidecar = read_meta(paths["sidecar"])
    except MarlError:
        raise ValidationError(f"{checkpoint} has no readable sidecar; it cannot be exported") from None
    if "train_config" in sidecar:  # its pool may name files on this server
        sidecar["train_config"] = public_config(sidecar["train_config"])
    members = [(WEIGHTS, paths["weights"], sidecar["sha256"])]
    if sidecar.get("state_sha256"):
        members.append((STATE, paths["state"], sidecar["state_sha256"]))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open, the response closes it
    try:
        _write_archive(out, checkpoint, sidecar, members)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    name = f"{checkpoint.agent.name}-{checkpoint.seat}-v{checkpoint.version}.arena.zip"
    return name, out


def _write_archive(out: IO[bytes], checkpoint: Checkpoint, sidecar: dict, members: list) -> None:
    """The files first, hashed as they go in; spec.json last, with their hashes and the provenance."""
    files: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(out, "w") as archive:
        for name, path, expected in members:
            files[name] = _copy_in(archive, name, path, expected, checkpoint)
        spec = {
            "kind": KIND,
            "format": FORMAT,
            "files": files,
            "sidecar": sidecar,
            "provenance": checkpoint_provenance(checkpoint),
        }
        archive.writestr(
            zipfile.ZipInfo(SPEC, date_time=(2000, 1, 1, 0, 0, 0)),
            json.dumps(spec, indent=2, sort_keys=True),
            compress_type=zipfile.ZIP_DEFLATED,
        )


def _copy_in(archive: zipfile.ZipFile, name: str, path, expected: str, checkpoint: Checkpoint) -> dict:
    """Stream one file into the archive (stored: tensors hardly compress), hashing it on the way."""
    try:
        source = path.open("rb")
    except OSError:
        raise ValidationError(f"{checkpoint}'s {name} file is missing; it cannot be exported") from None
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    with source, archive.open(info, "w", force_zip64=path.stat().st_size > 2**31) as target:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    if digest.hexdigest() != expected:
        raise ValidationError(f"{checkpoint}'s {name} does not match its sidecar's sha256; not exported")
    return {"sha256": expected, "bytes": size}


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
    if data[:1] == b"\x80":
        raise _refuse("it is a Python pickle; pickles are never loaded")
    if _declared_entries(data) > _MAX_ENTRIES:  # before zipfile reads a directory of any length
        raise _refuse(f"it has more members than an export ({', '.join(MEMBERS)})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _refuse("it is not a zip archive (export one from a checkpoint's page)") from None
    names = [info.filename for info in infos]
    for name in names:
        _check_name(name)
    if len(set(names)) != len(names):
        raise _refuse("it names a member twice")
    members = {info.filename: _member_bytes(archive, info) for info in infos}
    for required in (SPEC, WEIGHTS):
        if required not in members:
            raise _refuse(f"{required} is missing")
    spec = _spec(members[SPEC])
    listed = spec["files"]
    for name, content in members.items():
        if name == SPEC:
            continue
        if name not in listed:
            raise _refuse(f"{name} is not listed in spec.json")
        if hashlib.sha256(content).hexdigest() != listed[name].get("sha256"):
            raise _refuse(f"{name} does not match its sha256 in spec.json (changed or corrupt)")
    for name in listed:
        if name not in members:
            raise _refuse(f"spec.json lists {name}, but the archive lacks it")
    return ArchiveParts(
        weights=members[WEIGHTS],
        sidecar=spec["sidecar"],
        state=members.get(STATE),
        imported_from=_imported_from(spec.get("provenance")),
    )


def _declared_entries(data: bytes) -> int:
    """The entry count in the zip's end-of-central-directory record (0 if there is none: zipfile then
    refuses it); a ZIP64 archive says 0xFFFF here, more than an export ever holds."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        return 0
    return struct.unpack("<H", data[end + 10 : end + 12])[0]


def _check_name(name: str) -> None:
    """Only our three names, at the root: anything else is refused before a byte is read."""
    if name in MEMBERS:
        return
    shown = name[:80]
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
        raise _refuse(f"member {shown!r} points outside the archive")
    if name.endswith((".pkl", ".pickle", ".pt", ".pth", ".bin")) or "/data.pkl" in name:
        raise _refuse(f"member {shown!r} is a pickle (torch.save); pickles are never loaded")
    raise _refuse(f"unexpected member {shown!r} (an export holds {', '.join(MEMBERS)})")


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, read to at most its limit: the declared size is checked, then the real one."""
    limit = SPEC_MAX_BYTES if info.filename == SPEC else settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES
    if info.flag_bits & 0x1:
        raise _refuse(f"{info.filename} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refuse(f"{info.filename} uses a compression this site does not read (stored or deflated only)")
    if info.file_size > limit:
        raise _refuse(f"{info.filename} is {info.file_size} bytes; the limit is {limit}")
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)  # decompresses no further than this
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise _refuse(f"{info.filename} is corrupt ({str(exc)[:80]})") from None
    if len(content) > limit:
        raise _refuse(f"{info.filename} expands past the {limit}-byte limit")
    return content


def _spec(raw: bytes) -> dict[str, Any]:
    try:
        spec = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _refuse("spec.json is not valid JSON") from None
    if not isinstance(spec, dict) or spec.get("kind") != KIND:
        raise _refuse("spec.json is not an Arena checkpoint export")
    if spec.get("format") != FORMAT:
        raise _refuse(f"spec.json has format {str(spec.get('format'))[:10]}; this site reads format {FORMAT}")
    files = spec.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise _refuse("spec.json lacks its list of files")
    if not isinstance(spec.get("sidecar"), dict):
        raise _refuse("spec.json lacks the checkpoint's sidecar")
    return spec


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
