"""Checkpoints by id (an agent's list and imports live with the agent)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from arena.api.core import ERRORS, Id
from arena.models import Checkpoint
from arena.selectors import checkpoint_rating_json
from arena.serializers import checkpoint_json

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
