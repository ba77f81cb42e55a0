"""A game's rating pool, strongest first: the leaderboard of the pool's Elo fit (95% intervals, random =
0, the seat advantage), and the provisional online ratings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Router

from arena.api.core import ERRORS, text
from arena.models import Game, Rating
from arena.selectors import leaderboard_json
from arena.serializers import rating_json
from arena.services.payoffs import payoffs_table

router = Router(tags=["ratings"])


@router.get(
    "/leaderboards/{game}",
    response={200: dict[str, Any], **ERRORS},
    summary="A game's leaderboard: Elo with 95% intervals, anchors, seat advantage",
)
def leaderboard(request: HttpRequest, game: Path[text(40, pattern=r"^[a-z0-9_-]+$")]) -> dict[str, Any]:
    return leaderboard_json(Game.objects.get(name=game))


@router.get(
    "/ratings/{game}",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="A game's provisional online ratings (OpenSkill)",
)
def rating_list(request: HttpRequest, game: Path[text(40, pattern=r"^[a-z0-9_-]+$")]) -> list[dict[str, Any]]:
    Game.objects.get(name=game)
    ratings = Rating.objects.filter(pool=game).select_related("player__checkpoint__agent", "player__user")
    return [rating_json(r) for r in ratings.order_by("-mu")]


@router.get(
    "/leaderboards/{game}/payoffs",
    response={200: dict[str, Any], **ERRORS},
    summary="Who beats whom: the top players' payoff matrix ordered by α-Rank, with the cycles of 'beats'",
)
def leaderboard_payoffs(
    request: HttpRequest, game: Path[text(40, pattern=r"^[a-z0-9_-]+$")]
) -> dict[str, Any]:
    return payoffs_table(game=Game.objects.get(name=game))
