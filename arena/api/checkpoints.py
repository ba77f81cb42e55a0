"""Checkpoints by id (an agent's list and imports live with the agent)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest
from ninja import Router
from ninja.errors import HttpError

from arena.api.core import ERRORS, Id
from arena.models import Checkpoint
from arena.selectors import checkpoint_rating_json
from arena.serializers import checkpoint_json
from arena.services.checkpoint_archives import checkpoint_export as checkpoint_export_service

router = Router(tags=["checkpoints"])


@router.get("/checkpoints/{pk}", response={200: dict[str, Any], **ERRORS}, summary="Get a checkpoint")
def checkpoint_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    return checkpoint_json(Checkpoint.objects.select_related("agent").get(pk=pk))


@router.get(
    "/checkpoints/{pk}/rating",
    response={200: dict[str, Any], **ERRORS},
    summary="A checkpoint's Elo with its 95% interval, its calibration and its rating history",
)
def checkpoint_rating(request: HttpRequest, pk: Id) -> dict[str, Any]:
    checkpoint = Checkpoint.objects.select_related("agent__game").get(pk=pk)
    return {
        **checkpoint_rating_json(checkpoint),
        "calibration": checkpoint_json(checkpoint).get("calibration"),
    }


@router.get(
    "/checkpoints/{pk}/export",
    response={200: None, **ERRORS},
    summary="Export a checkpoint: one zip of its weights, training state and spec.json",
    description="The archive POST /api/agents/{pk}/checkpoints takes back as `archive`: "
    "`weights.safetensors`, `state.safetensors` (when it has one) and `spec.json` (the sidecar, each "
    "file's SHA-256 and the provenance).",
    openapi_extra={
        "responses": {
            200: {  # ninja keys its responses by int: this merges into its 200 entry
                "description": "the archive",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def checkpoint_export(request: HttpRequest, pk: Id) -> FileResponse:
    Checkpoint.objects.get(pk=pk)  # 404 first
    try:
        name, archive = checkpoint_export_service(checkpoint_id=pk)
    except ValidationError as exc:
        raise HttpError(404, "; ".join(exc.messages)) from None
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
