"""Training runs: list, start, read with stats, cancel."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from arena.api.core import ERRORS, WRITE_AUTH, WRITE_DOCS, WRITE_ERRORS, Id, Input, Limit, Offset
from arena.models import TrainingRun
from arena.serializers import run_json
from arena.services import training as training_services

router = Router(tags=["runs"])

RunStatus = Literal[tuple(dict(TrainingRun.STATUSES))]  # type: ignore[valid-type]


class RunIn(Input):
    agent: Id
    config: dict[str, Any] = {}


class RunFilter(Schema):
    limit: Limit = 50
    offset: Offset = 0
    status: RunStatus | None = None


@router.get("/runs", response={200: list[dict[str, Any]], **ERRORS}, summary="List training runs")
def run_list(request: HttpRequest, filters: Query[RunFilter]) -> list[dict[str, Any]]:
    runs = TrainingRun.objects.select_related("agent").order_by("-created_at")
    if filters.status:
        runs = runs.filter(status=filters.status)
    return [run_json(r) for r in runs[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/runs",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Start a training run",
)
def run_create(request: HttpRequest, payload: RunIn) -> tuple[int, dict[str, Any]]:
    run = training_services.training_run_create(
        user=request.user, agent_id=payload.agent, config=payload.config
    )
    return 201, run_json(run)


@router.get("/runs/{pk}", response={200: dict[str, Any], **ERRORS}, summary="Get a run with its stats")
def run_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    return run_json(TrainingRun.objects.select_related("agent").get(pk=pk), detail=True)


@router.post(
    "/runs/{pk}/cancel",
    auth=WRITE_AUTH,
    response={200: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Cancel a run",
)
def run_cancel(request: HttpRequest, pk: Id) -> dict[str, Any]:
    TrainingRun.objects.get(pk=pk)  # 404 before the owner check
    return run_json(training_services.training_run_cancel(user=request.user, run_id=pk))
