"""Leagues: list and create them; a league's settings (its owner changes them: pause and resume are
`status`), a tick on demand, its champion's strength over ticks, and its SPRT gates (each new snapshot's
test against its champion: LLR, bounds, verdict)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
from arena.models import League
from arena.serializers import league_json
from arena.services import leagues as league_services
from arena.services.league_gates import gate_json
from arena.services.strength import league_strength

router = Router(tags=["leagues"])

LeagueStatus = Literal[tuple(dict(League.STATUSES))]  # type: ignore[valid-type]
PfspMode = Literal[tuple(dict(League.PFSP_MODES))]  # type: ignore[valid-type]
Count = Annotated[int, Field(ge=0, le=MAX_ID)]  # the service holds the real bounds (some are settings)
Number = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class LeagueSettingsIn(Input):
    """What the league page's settings form sets; absent (or null): the default, or unchanged."""

    status: LeagueStatus | None = Field(default=None, description="`paused`: no scheduled ticks")
    interval_seconds: Count | None = Field(default=None, description="seconds between scheduled ticks")
    env_steps_per_tick: Count | None = None
    pool_size: Count | None = Field(default=None, description="newest snapshots kept per member and seat")
    pool_bots: bool | None = Field(default=None, description="reference bots join the training pool")
    self_play: bool | None = None
    eval_search: Count | None = Field(default=None, description="above 0: also evaluate with mcts:N on top")
    pfsp_mode: PfspMode | None = None
    pfsp_p: Number | None = None
    eval_games: Count | None = Field(default=None, description="games per opponent when evaluating")
    train_overrides: dict[str, Any] | None = Field(default=None, description="extra TrainConfig keys")
    gating: bool | None = Field(default=None, description="a new snapshot must pass an SPRT")
    gate_elo0: Number | None = None
    gate_elo1: Number | None = None
    gate_alpha: Number | None = None
    gate_beta: Number | None = None
    gate_max_pairs: Count | None = None


class LeagueIn(LeagueSettingsIn):
    game: GameName
    name: text(100, min_length=1)
    members: list[Id] = Field(max_length=1000, description="ids of your own agents for the game")


class LeagueFilter(Schema):
    limit: Limit = 50
    offset: Offset = 0
    game: text(40) | None = None
    status: LeagueStatus | None = None
    owner: Owner | None = None


SETTINGS = tuple(LeagueSettingsIn.model_fields)


def _settings(payload: LeagueSettingsIn) -> dict[str, Any]:
    return {name: value for name in SETTINGS if (value := getattr(payload, name)) is not None}


@router.get("/leagues", response={200: list[dict[str, Any]], **ERRORS}, summary="List leagues")
def league_list(request: HttpRequest, filters: Query[LeagueFilter]) -> list[dict[str, Any]]:
    rows = League.objects.select_related("game", "owner").prefetch_related("memberships")
    rows = owned_page(request, rows.order_by("-created_at", "-pk"), filters, owner_field="owner")
    return [league_json(league) for league in rows]


@router.post(
    "/leagues",
    auth=WRITE_AUTH,
    response={201: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Create a league of your agents; its ticks are scheduled",
)
def league_create(request: HttpRequest, payload: LeagueIn) -> tuple[int, dict[str, Any]]:
    league = league_services.league_create(
        user=request.user,
        game=payload.game,
        name=payload.name,
        members=list(payload.members),
        **_settings(payload),
    )
    return 201, league_json(league)


@router.patch(
    "/leagues/{pk}",
    auth=WRITE_AUTH,
    response={200: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Change a league's settings (its owner): pause or resume it with `status`",
)
def league_update(request: HttpRequest, pk: Id, payload: LeagueSettingsIn) -> dict[str, Any]:
    league_services.league_update(user=request.user, league_id=pk, **_settings(payload))
    return league_json(League.objects.select_related("game", "owner").get(pk=pk))


@router.post(
    "/leagues/{pk}/tick",
    auth=WRITE_AUTH,
    response={202: dict[str, Any], **WRITE_ERRORS},
    openapi_extra=WRITE_DOCS,
    summary="Queue a tick now (its owner), even if paused; it starts unless one is running",
)
def league_tick(request: HttpRequest, pk: Id) -> tuple[int, dict[str, Any]]:
    league = league_services.league_tick_request(user=request.user, league_id=pk)
    return 202, {"queued": True, "league": league.pk}


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
