"""Checkpoints: their page (the provenance card and lineage), importing one from the agent page
(separate files or an export archive), downloading the weights, the sidecar or the export archive."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena.models import Agent, Checkpoint
from arena.services.checkpoint_archives import checkpoint_export as checkpoint_export_service
from arena.services.checkpoints import checkpoint_import
from arena.services.provenance import (
    checkpoint_provenance,
    checkpoint_public_sidecar,
    import_source,
    line_import,
    lineage_tree,
)


@require_GET
def checkpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The provenance card: game, algorithm, config, run, lineage, versions, hashes, rating, strength."""
    checkpoint = get_object_or_404(
        Checkpoint.objects.select_related("agent__game", "agent__owner", "training_run", "parent"), pk=pk
    )
    provenance = checkpoint_provenance(checkpoint)
    context = {
        "checkpoint": checkpoint,
        "agent": checkpoint.agent,
        "p": provenance,
        "config_json": json.dumps(provenance["train_config"], indent=2, sort_keys=True),
        "tree": lineage_tree(checkpoint),
        "network_json": json.dumps(provenance["network"], sort_keys=True),
        # The archive's word on where it came from; linked only when that checkpoint is here, unchanged.
        "source": import_source(provenance["imported_from"]),
        "line_import": line_import(checkpoint),
        "opponent_seat": next((s for s in checkpoint.agent.game.seats if s != checkpoint.seat), ""),
    }
    return render(request, "arena/checkpoints/detail.html", context)


@require_GET
def checkpoint_export(request: HttpRequest, pk: int) -> FileResponse:
    """One zip of the weights, the training state and spec.json, which the import takes back."""
    get_object_or_404(Checkpoint, pk=pk)
    try:
        name, archive = checkpoint_export_service(checkpoint_id=pk)
    except ValidationError as exc:
        raise Http404("; ".join(exc.messages)) from None
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")


@require_POST
@login_required
def checkpoint_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Import a checkpoint from the agent page; every check is the import service's."""
    agent = get_object_or_404(Agent, pk=pk)
    limit = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:  # before anything parses (or spools) it
        messages.error(request, f"upload over {limit} bytes")
        return redirect(agent)
    files = {key: request.FILES.get(key) for key in ("archive", "weights", "sidecar", "state")}
    if files["archive"] is None and (files["weights"] is None or files["sidecar"] is None):
        messages.error(
            request, "choose an export archive (.zip), or the weights (.safetensors) and the sidecar (.json)"
        )
        return redirect(agent)
    try:
        checkpoint = checkpoint_import(
            user=request.user, agent_id=agent.pk, **files
        )  # PermissionDenied -> 403
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Imported {checkpoint}.")
        return redirect(checkpoint)
    return redirect(agent)


@require_GET
def checkpoint_download(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """The weights (.safetensors) or the JSON sidecar, named after the agent, seat and version."""
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("agent"), pk=pk)
    root = Path(settings.MEDIA_ROOT).resolve()
    weights = (root / checkpoint.path).resolve()
    path = weights if part == "weights" else weights.with_suffix(".json")
    # The row's path is relative to MEDIA_ROOT; refuse anything that would step outside it.
    if root not in path.parents or not path.is_file():
        raise Http404("checkpoint file not found")
    name = f"{checkpoint.agent.name}-{checkpoint.seat}-v{checkpoint.version}{path.suffix}"
    if part == "sidecar":  # as the export shows it: the training pool by checkpoint, not server path
        sidecar = checkpoint_public_sidecar(checkpoint)
        if sidecar is None:
            raise Http404("checkpoint sidecar unreadable")
        response = HttpResponse(json.dumps(sidecar, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/octet-stream"
    )
