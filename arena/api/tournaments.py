"""Tournaments: list, create (round robin, gauntlet, Swiss or knockout, as the form does), read with the
table, rounds and queue place, and cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
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
    Owner,
    owned_page,
    text,
)
from arena.api.games import GameName
from arena.api.matches import SeatSpec
from arena.models import Tournament
from arena.serializers import TOURNAMENT_PREFETCH, tournament_json, tournament_rounds_json
from arena.services import tournaments as tournament_services
from arena.services.openings import MAX_OPENINGS, MAX_TEMPERATURE
from arena.services.queue_places import tournament_queue_place
from arena.services.tournament_rounds import MAX_GAMES_PER_PAIR
from arena.services.tournament_tables import tournament_table_now

router = Router(tags=["tournaments"])

TournamentStatus = Literal[tuple(dict(Tournament.STATUSES))]  # type: ignore[valid-type]
TournamentFormat = Literal[tuple(dict(Tournament.FORMATS))]  # type: ignore[valid-type]
Move = Annotated[int, Field(ge=0, le=MAX_ID)] | text(20, min_length=1)


class TournamentIn(Input):
    game: GameName
    format: TournamentFormat = Field(description="a gauntlet's first participant is the challenger")
    participants: list[SeatSpec] = Field(
        max_length=tournament_services.MAX_PARTICIPANTS,
        description="player specs as a match's seats take them (`checkpoint:<id>`, `agent:<id>@<version>`, "
        "either with ` + mcts:N`, or `bot:<name>`), each once; at least 2",
    )
    name: text(100) = ""
    games_per_pair: Annotated[int, Field(ge=1, le=MAX_GAMES_PER_PAIR)] = 2
    rounds: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Swiss only (none: about log2 of the field)"
    )
    batch_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=1, description="matches per worker task: 1 plays each live, more batched"
    )
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    seed: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    opening_plies: Annotated[int, Field(ge=0, le=40)] | None = Field(
        default=None, description="random plies each opening has (none: the game's default)"
    )
    openings: list[Annotated[list[Move], Field(max_length=400)]] = Field(
        default=[],
        max_length=MAX_OPENINGS,
        description="or a book: each opening a list of moves (action indices or the game's notation), "
        "played twice with seats swapped",
    )
    temperature: Annotated[float, Field(ge=0, le=MAX_TEMPERATURE, allow_inf_nan=False)] = 0.0
    hands: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        default=None, description="poker: duplicate hands each match plays (none: the game's default)"
    )


class TournamentFilter(Schema):
    limit: Limit = 50
    offset: Offset = 0
    game: text(40) | None = None
    status: TournamentStatus | None = None
    owner: Owner | None = None


def _tournaments() -> QuerySet[Tournament]:
    return Tournament.objects.select_related("game", "created_by").prefetch_related(*TOURNAMENT_PREFETCH)


@router.get("/tournaments", response={200: list[dict[str, Any]], **ERRORS}, summary="List tournaments")
def tournament_list(request: HttpRequest, filters: Query[TournamentFilter]) -> list[dict[str, Any]]:
    rows = owned_page(
        request, _tournaments().order_by("-created_at", "-pk"), filters, owner_field="created_by"
    )
    return [tournament_json(t) for t in rows]


@router.post(
    "/tournaments",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Create a tournament and queue its first round",
)
def tournament_create(request: HttpRequest, payload: TournamentIn) -> tuple[int, dict[str, Any]]:
    tournament = tournament_services.tournament_create(
        user=request.user,
        game=payload.game,
        format=payload.format,
        participants=list(payload.participants),
        name=payload.name,
        games_per_pair=payload.games_per_pair,
        rounds=payload.rounds,
        batch_size=payload.batch_size,
        max_attempts=payload.max_attempts,
        seed=payload.seed,
        opening_plies=payload.opening_plies,
        openings=[list(opening) for opening in payload.openings],
        temperature=payload.temperature,
        hands=payload.hands,
    )
    return 201, tournament_json(_tournaments().get(pk=tournament.pk))


@router.get(
    "/tournaments/{pk}",
    response={200: dict[str, Any], **ERRORS},
    summary="A tournament: settings, table (standings, head to head, Elo with intervals), rounds, queue",
)
def tournament_detail(request: HttpRequest, pk: Id) -> dict[str, Any]:
    tournament = _tournaments().get(pk=pk)
    table = tournament_table_now(tournament=tournament)
    return {
        **tournament_json(tournament),
        "table": table,
        "rounds": tournament_rounds_json(tournament, table.get("labels", {})),
        "failed": tournament_services.tournament_failed_count(tournament=tournament),
        # `queue`: while its games wait, their place in the games queue and what the workers run, else null.
        "queue": tournament_queue_place(tournament=tournament),
    }


@router.post(
    "/tournaments/{pk}/cancel",
    auth=WRITE_AUTH,
    response={200: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Cancel a pending or running tournament (its creator): its queued games are dropped",
)
def tournament_cancel(request: HttpRequest, pk: Id) -> dict[str, Any]:
    tournament = tournament_services.tournament_cancel(user=request.user, tournament_id=pk)
    return tournament_json(_tournaments().get(pk=tournament.pk))
