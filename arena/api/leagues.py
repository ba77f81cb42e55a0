"""A league's SPRT gates: each new snapshot's test against its champion (LLR, bounds, verdict)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from arena.api.core import ERRORS, Id
from arena.models import League
from arena.services.league_gates import gate_json

router = Router(tags=["leagues"])


@router.get(
    "/leagues/{pk}/gates",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="A league's gating results, newest first: LLR with its bounds, games and verdict",
)
def league_gates(request: HttpRequest, pk: Id) -> list[dict[str, Any]]:
    league = League.objects.get(pk=pk)
    return [gate_json(gate) for gate in league.gates.order_by("-id")[:200]]
