"""Agents: list, create, read and delete; an agent's checkpoints, listed and imported."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, UploadedFile
from ninja.errors import HttpError

from arena.api.core import ERRORS, WRITE_AUTH, WRITE_DOCS, WRITE_ERRORS, Id, Input, Limit, Offset, text
from arena.api.games import GameName, SeatName
from arena.models import Agent
from arena.serializers import agent_json, checkpoint_json
from arena.services import agents as agent_services
from arena.services.checkpoints import checkpoint_import

router = Router(tags=["agents"])


class AgentIn(Input):
    game: GameName
    name: text(80, min_length=1)
    algorithm: Literal[tuple(dict(Agent.ALGORITHMS))] = "dqn"  # type: ignore[valid-type]
    seat: SeatName | None = None
    network: dict[str, Any] | None = None


class AgentFilter(Schema):
    limit: Limit = 50
    offset: Offset = 0
    game: text(40) | None = None


@router.get("/agents", response={200: list[dict[str, Any]], **ERRORS}, summary="List agents")
def agent_list(request: HttpRequest, filters: Query[AgentFilter]) -> list[dict[str, Any]]:
    agents = Agent.objects.active().select_related("game", "owner").order_by("-created_at")
    if filters.game:
        agents = agents.filter(game__name=filters.game)
    return [agent_json(a) for a in agents[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/agents",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Create an agent",
)
def agent_create(request: HttpRequest, payload: AgentIn) -> tuple[int, dict[str, Any]]:
    agent = agent_services.agent_create(
        owner=request.user,
        game=payload.game,
        name=payload.name,
        algorithm=payload.algorithm,
        network=payload.network,
        seat=payload.seat or "",
    )
    return 201, agent_json(agent)


@router.get("/agents/{pk}", response={200: dict[str, Any], **ERRORS}, summary="Get an agent")
def agent_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    return agent_json(Agent.objects.select_related("game", "owner").get(pk=pk), detail=True)


@router.delete(
    "/agents/{pk}",
    auth=WRITE_AUTH,
    response={200: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Delete an agent",
)
def agent_delete(request: HttpRequest, pk: Id) -> dict[str, Any]:
    outcome = agent_services.agent_delete(user=request.user, agent_id=pk)
    return {"deleted": pk, "archived": outcome == "archived"}


@router.get(
    "/agents/{pk}/checkpoints",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="List an agent's checkpoints",
)
def agent_checkpoints(request: HttpRequest, pk: Id) -> list[dict[str, Any]]:
    agent = Agent.objects.get(pk=pk)
    return [checkpoint_json(c) for c in agent.checkpoints.select_related("agent").order_by("seat", "version")]


@router.post(
    "/agents/{pk}/checkpoints",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Import a checkpoint (verified before it is stored)",
    description="Multipart: either one export `archive` (the zip GET /api/checkpoints/{pk}/export "
    "answers: weights, training state and spec.json), or safetensors `weights`, the JSON `sidecar` and "
    "optionally the training `state`. An upload over twice the checkpoint size limit is refused with "
    "413 before it is read.",
)
def checkpoint_upload(
    request: HttpRequest,
    pk: Id,
    archive: UploadedFile | None = File(None),
    weights: UploadedFile | None = File(None),
    sidecar: UploadedFile | None = File(None),
    state: UploadedFile | None = File(None),
) -> tuple[int, dict[str, Any]]:
    if archive is None and (weights is None or sidecar is None):
        raise HttpError(400, "send an export `archive`, or `weights` and `sidecar`")
    checkpoint = checkpoint_import(
        user=request.user, agent_id=pk, weights=weights, sidecar=sidecar, state=state, archive=archive
    )
    return 201, checkpoint_json(checkpoint)
