"""Checkpoint files: importing one from the agent page, downloading the weights or the sidecar."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from arena.models import Agent, Checkpoint
from arena.services.checkpoints import checkpoint_import


@require_POST
@login_required
def checkpoint_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Import a checkpoint from the agent page; every check is the import service's."""
    agent = get_object_or_404(Agent, pk=pk)
    limit = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:  # before anything parses (or spools) it
        messages.error(request, f"upload over {limit} bytes")
        return redirect(agent)
    weights, sidecar = request.FILES.get("weights"), request.FILES.get("sidecar")
    if weights is None or sidecar is None:
        messages.error(request, "choose the weights (.safetensors) and the sidecar (.json)")
        return redirect(agent)
    try:
        checkpoint = checkpoint_import(  # PermissionDenied -> 403
            user=request.user,
            agent_id=agent.pk,
            weights=weights,
            sidecar=sidecar,
            state=request.FILES.get("state"),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Imported {checkpoint}.")
    return redirect(agent)


@require_GET
def checkpoint_download(request: HttpRequest, pk: int, part: str) -> FileResponse:
    """The weights (.safetensors) or the JSON sidecar, named after the agent, seat and version."""
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("agent"), pk=pk)
    root = Path(settings.MEDIA_ROOT).resolve()
    weights = (root / checkpoint.path).resolve()
    path = weights if part == "weights" else weights.with_suffix(".json")
    # The row's path is relative to MEDIA_ROOT; refuse anything that would step outside it.
    if root not in path.parents or not path.is_file():
        raise Http404("checkpoint file not found")
    name = f"{checkpoint.agent.name}-{checkpoint.seat}-v{checkpoint.version}{path.suffix}"
    content_type = "application/json" if part == "sidecar" else "application/octet-stream"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=content_type)
