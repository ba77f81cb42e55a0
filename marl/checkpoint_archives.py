"""A checkpoint as one zip archive, and back: what the arena exports and imports, usable anywhere.

An archive holds exactly ``spec.json``, ``weights.safetensors`` and (when the checkpoint has one)
``state.safetensors`` at its root. ``spec.json`` carries the checkpoint's sidecar, each member's
SHA-256 and size, and whatever provenance the writer adds. Reading trusts nothing: only those names,
stored or deflated, each read to a byte limit (a zip bomb stops there, whatever size it declares) and
hashed against the spec. The tensors inside are then checked as any checkpoint is (`marl.checkpoints`:
safetensors only, never a pickle).

    python -m marl.checkpoint_archives unpack EXPORT.zip DIR     # DIR/cp.safetensors, .state, .json
    python -m marl.train ... --resume DIR/cp.safetensors         # train it further
    python -m marl.checkpoint_archives pack DIR/NEWEST.safetensors OUT.zip   # import OUT.zip back
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from marl.errors import CheckpointError

KIND = "arena-checkpoint-export"
FORMAT = 1
SPEC, WEIGHTS, STATE = "spec.json", "weights.safetensors", "state.safetensors"
MEMBERS = (SPEC, WEIGHTS, STATE)
SPEC_MAX_BYTES = 2 * 1024 * 1024  # the sidecar (at most 1 MiB) and the provenance
MAX_ENTRIES = 16  # entries zipfile may parse; past the three names they are refused one by one
_CHUNK = 1024 * 1024
_EPOCH = (2000, 1, 1, 0, 0, 0)  # fixed member times: the same checkpoint makes the same archive


class ArchiveError(CheckpointError):
    """An archive that is not a checkpoint export, or a hostile one."""


# ------------------------------------------------------------------------------------------- write
def write_archive(
    out: IO[bytes], *, sidecar: dict[str, Any], files: Iterable[tuple[str, Path]], provenance: Any = None
) -> None:
    """Write the archive to `out`: each (member name, path) streamed in and hashed on the way, and it
    must match its hash in the sidecar (a file changed on disk is refused); spec.json last."""
    expected = {WEIGHTS: sidecar.get("sha256"), STATE: sidecar.get("state_sha256")}
    listed: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(out, "w") as archive:
        for name, path in files:
            listed[name] = _copy_in(archive, name, Path(path), expected.get(name))
        spec = {"kind": KIND, "format": FORMAT, "files": listed, "sidecar": sidecar, "provenance": provenance}
        archive.writestr(
            zipfile.ZipInfo(SPEC, date_time=_EPOCH),
            json.dumps(spec, indent=2, sort_keys=True),
            compress_type=zipfile.ZIP_DEFLATED,
        )


def _copy_in(archive: zipfile.ZipFile, name: str, path: Path, expected: str | None) -> dict[str, Any]:
    """Stream one file in, stored (tensors hardly compress), hashing it as it goes."""
    try:
        source = path.open("rb")
    except OSError:
        raise ArchiveError(f"the {name} file is missing") from None
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    with source, archive.open(info, "w", force_zip64=path.stat().st_size > 2**31) as target:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    if digest.hexdigest() != expected:
        raise ArchiveError(f"{name} does not match its sidecar's sha256 (changed on disk)")
    return {"sha256": expected, "bytes": size}


def pack_checkpoint(
    path: str | os.PathLike[str], out: str | os.PathLike[str], provenance: Any = None
) -> Path:
    """The checkpoint at `path` (NAME.safetensors with its sidecar and state) as an archive at `out`."""
    from marl.checkpoints import _resolve, read_meta  # lazy: torch

    w_path, s_path, j_path = _resolve(path)
    sidecar = read_meta(j_path)
    files = [(WEIGHTS, w_path)] + ([(STATE, s_path)] if sidecar["state_sha256"] else [])
    provenance = provenance or {"packed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    out = Path(out)
    with out.open("wb") as target:
        write_archive(target, sidecar=sidecar, files=files, provenance=provenance)
    return out


# -------------------------------------------------------------------------------------------- read
def read_archive(data: bytes, *, member_limit: int) -> dict[str, Any]:
    """The members of an archive's bytes, checked: {"spec": dict, "weights": bytes, "state": bytes |
    None}. Tensor files are at most `member_limit` bytes; raises ArchiveError."""
    if data[:1] == b"\x80":
        raise ArchiveError("it is a Python pickle; pickles are never loaded")
    if _declared_entries(data) > MAX_ENTRIES:  # before zipfile reads a directory of any length
        raise ArchiveError(f"it has more members than an export ({', '.join(MEMBERS)})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ArchiveError("it is not a zip archive (export one from a checkpoint's page)") from None
    names = [info.filename for info in infos]
    for name in names:
        _check_name(name)
    if len(set(names)) != len(names):
        raise ArchiveError("it names a member twice")
    members = {info.filename: _member_bytes(archive, info, member_limit) for info in infos}
    for required in (SPEC, WEIGHTS):
        if required not in members:
            raise ArchiveError(f"{required} is missing")
    spec = _spec(members[SPEC])
    listed = spec["files"]
    for name, content in members.items():
        if name == SPEC:
            continue
        if name not in listed:
            raise ArchiveError(f"{name} is not listed in spec.json")
        if hashlib.sha256(content).hexdigest() != listed[name].get("sha256"):
            raise ArchiveError(f"{name} does not match its sha256 in spec.json (changed or corrupt)")
    for name in listed:
        if name not in members:
            raise ArchiveError(f"spec.json lists {name}, but the archive lacks it")
    return {"spec": spec, "weights": members[WEIGHTS], "state": members.get(STATE)}


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
        raise ArchiveError(f"member {shown!r} points outside the archive")
    if name.endswith((".pkl", ".pickle", ".pt", ".pth", ".bin")) or "/data.pkl" in name:
        raise ArchiveError(f"member {shown!r} is a pickle (torch.save); pickles are never loaded")
    raise ArchiveError(f"unexpected member {shown!r} (an export holds {', '.join(MEMBERS)})")


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, member_limit: int) -> bytes:
    """A member's bytes, read to at most its limit: the declared size is checked, then the real one."""
    limit = SPEC_MAX_BYTES if info.filename == SPEC else member_limit
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{info.filename} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(
            f"{info.filename} uses a compression this reader refuses (stored or deflated only)"
        )
    if info.file_size > limit:
        raise ArchiveError(f"{info.filename} is {info.file_size} bytes; the limit is {limit}")
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)  # decompresses no further than this
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveError(f"{info.filename} is corrupt ({str(exc)[:80]})") from None
    if len(content) > limit:
        raise ArchiveError(f"{info.filename} expands past the {limit}-byte limit")
    return content


def _spec(raw: bytes) -> dict[str, Any]:
    try:
        spec = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ArchiveError("spec.json is not valid JSON") from None
    if not isinstance(spec, dict) or spec.get("kind") != KIND:
        raise ArchiveError("spec.json is not an Arena checkpoint export")
    if spec.get("format") != FORMAT:
        raise ArchiveError(f"spec.json has format {str(spec.get('format'))[:10]}; this reads format {FORMAT}")
    files = spec.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise ArchiveError("spec.json lacks its list of files")
    if not isinstance(spec.get("sidecar"), dict):
        raise ArchiveError("spec.json lacks the checkpoint's sidecar")
    return spec


def unpack_checkpoint(
    archive: str | os.PathLike[str], directory: str | os.PathLike[str], name: str = "cp"
) -> Path:
    """Write an archive's checkpoint as marl's files (NAME.safetensors, NAME.state.safetensors,
    NAME.json) in `directory`, verified by loading it; the weights path, for `train --resume`."""
    from marl.checkpoints import MAX_SIDECAR_BYTES, load_checkpoint  # lazy: torch
    from marl.tensor_files import MAX_FILE_BYTES, atomic_write, read_limited

    parts = read_archive(
        read_limited(Path(archive), 2 * MAX_FILE_BYTES, "archive"), member_limit=MAX_FILE_BYTES
    )
    sidecar = json.dumps(parts["spec"]["sidecar"], indent=2, sort_keys=True).encode()
    if len(sidecar) > MAX_SIDECAR_BYTES:
        raise ArchiveError(f"the archive's sidecar is over {MAX_SIDECAR_BYTES} bytes")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    (out / f"{name}.json").unlink(missing_ok=True)  # no sidecar vouches for half-written files
    atomic_write(weights, parts["weights"])
    if parts["state"] is not None:
        atomic_write(out / f"{name}.state.safetensors", parts["state"])
    atomic_write(out / f"{name}.json", sidecar)  # last: its presence means complete
    load_checkpoint(weights)
    return weights


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m marl.checkpoint_archives", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    unpack = commands.add_parser("unpack", help="an export archive as marl checkpoint files")
    unpack.add_argument("archive")
    unpack.add_argument("directory")
    unpack.add_argument("--name", default="cp")
    pack = commands.add_parser("pack", help="a marl checkpoint as an archive the arena imports")
    pack.add_argument("checkpoint", help="NAME.safetensors (its sidecar and state beside it)")
    pack.add_argument("out")
    args = parser.parse_args(argv)
    if args.command == "unpack":
        print(unpack_checkpoint(args.archive, args.directory, args.name))
    else:
        print(pack_checkpoint(args.checkpoint, args.out))


if __name__ == "__main__":
    main()
