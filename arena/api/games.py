"""The API's index and the games it knows, with the input types that name them."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router

from arena.models import Game
from marl.games import GAMES

router = Router(tags=["games"])

GameName = Literal[tuple(GAMES)]  # type: ignore[valid-type]  # the registry's names, as a schema enum
SeatName = Literal[tuple(sorted({seat for spec in GAMES.values() for seat in spec.seats}))]  # type: ignore[valid-type]


@router.get("/", response=dict[str, Any], summary="Where to start")
def api_index(request: HttpRequest) -> dict[str, Any]:
    return {
        "schema": "/api/openapi.json",
        "resources": ["games", "agents", "runs", "matches", "tournaments", "leagues", "ratings"],
    }


@router.get("/games", response=list[dict[str, Any]], summary="List games")
def game_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"name": g.name, "env_id": g.env_id, "title": g.title, "seats": g.seats} for g in Game.objects.all()
    ]
