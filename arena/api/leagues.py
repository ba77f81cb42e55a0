"""A league: its settings, its champion's strength over ticks, and its SPRT gates (each new snapshot's
test against its champion: LLR, bounds, verdict)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from arena.api.core import ERRORS, Id
from arena.models import League
from arena.serializers import league_json
from arena.services.league_gates import gate_json
from arena.services.strength import league_strength

router = Router(tags=["leagues"])


@router.get(
    "/leagues/{pk}",
    response={200: dict[str, Any], **ERRORS},
    summary="A league's settings: schedule, pool, self-play, evaluation search and gating",
)
def league_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    return league_json(League.objects.select_related("game", "owner").get(pk=pk))


@router.get(
    "/leagues/{pk}/strength",
    response={200: dict[str, Any], **ERRORS},
    summary="The league's champion by tick: its score against each anchor and its strength",
)
def league_strength_read(request: HttpRequest, pk: Id) -> dict[str, Any]:
    return league_strength(league=League.objects.select_related("game").get(pk=pk))


@router.get(
    "/leagues/{pk}/gates",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="A league's gating results, newest first: LLR with its bounds, games and verdict",
)
def league_gates(request: HttpRequest, pk: Id) -> list[dict[str, Any]]:
    league = League.objects.get(pk=pk)
    return [gate_json(gate) for gate in league.gates.order_by("-id")[:200]]
