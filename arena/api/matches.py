"""Matches between agents and bots: list, start, read with moves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from arena.api.core import (
    ERRORS,
    MAX_ID,
    WRITE_AUTH,
    WRITE_DOCS,
    WRITE_ERRORS,
    Id,
    Input,
    Limit,
    Offset,
    text,
)
from arena.api.games import GameName, SeatName
from arena.models import Match
from arena.serializers import match_json
from arena.services import matches as match_services
from arena.services.play_events import PlayError
from arena.services.queue_places import match_queue_place
from arena.services.take_overs import match_take_over as take_over_service

router = Router(tags=["matches"])

MatchStatus = Literal[tuple(dict(Match.STATUSES))]  # type: ignore[valid-type]
SeatSpec = text(
    80,
    pattern=(
        r"^((checkpoint:[0-9]{1,19}|agent:[0-9]{1,19}@[0-9]{1,9})( ?\+ ?mcts:[0-9]{1,7})?"
        r"|bot:[A-Za-z0-9:_+.-]{1,40}|human)$"
    ),
)


class MatchIn(Input):
    game: GameName
    seats: dict[SeatName, SeatSpec] = Field(
        description=(
            "every seat of the game -> `checkpoint:<id>`, `agent:<id>@<version>` (either may add "
            "` + mcts:N` for tree search on top, N up to the server's limit) or `bot:<name>`"
        )
    )
    seed: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    move_delay: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.0
    rated: bool = True
    hands: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        default=None,
        description="poker: the hands the match plays (even in duplicate, up to the server's limit); "
        "none: the game's default",
    )
    duplicate: bool = Field(default=True, description="poker: every deal played twice, seats swapped")


class TakeOverIn(Input):
    ply: Annotated[int, Field(ge=0, le=100_000, description="take over after this many moves")]
    seat: SeatName = Field(description="the seat you play; the other keeps the player that sat there")


class MatchFilter(Schema):
    limit: Limit = 50
    offset: Offset = 0
    status: MatchStatus | None = None


@router.get("/matches", response={200: list[dict[str, Any]], **ERRORS}, summary="List matches")
def match_list(request: HttpRequest, filters: Query[MatchFilter]) -> list[dict[str, Any]]:
    matches = Match.objects.select_related("game").prefetch_related("seats__player").order_by("-created_at")
    if filters.status:
        matches = matches.filter(status=filters.status)
    return [match_json(m) for m in matches[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/matches",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Start a match",
)
def match_create(request: HttpRequest, payload: MatchIn) -> tuple[int, dict[str, Any]]:
    match = match_services.match_create(
        user=request.user,
        game=payload.game,
        seats=dict(payload.seats),
        seed=payload.seed,
        move_delay=payload.move_delay,
        rated=payload.rated,
        hands=payload.hands,
        duplicate=payload.duplicate,
    )
    return 201, match_json(match)


@router.get("/matches/{pk}", response={200: dict[str, Any], **ERRORS}, summary="Get a match with its moves")
def match_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    match = Match.objects.select_related("game").get(pk=pk)
    # `queue`: a pending match's place in the games queue and what the workers are busy with, else null.
    return {**match_json(match, detail=True), "queue": match_queue_place(match=match)}


@router.post(
    "/matches/{pk}/take-over",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Take over a finished game at a move: a human game from there against the same opponent",
    description="Play it over `ws/play/<id>/` or at `/play/<id>/`; the new match records its source.",
)
def match_take_over(request: HttpRequest, pk: Id, payload: TakeOverIn) -> tuple[int, dict[str, Any]]:
    try:
        match = take_over_service(user=request.user, match_id=pk, ply=payload.ply, seat=payload.seat)
    except PlayError as exc:
        raise HttpError(403 if exc.code == "forbidden" else 400, exc.message) from None
    return 201, match_json(match, detail=True)
