"""A game's rating pool, strongest first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Router

from arena.api.core import ERRORS, text
from arena.models import Game, Rating
from arena.serializers import rating_json

router = Router(tags=["ratings"])


@router.get("/ratings/{game}", response={200: list[dict[str, Any]], **ERRORS}, summary="A game's rating pool")
def rating_list(request: HttpRequest, game: Path[text(40, pattern=r"^[a-z0-9_-]+$")]) -> list[dict[str, Any]]:
    Game.objects.get(name=game)
    ratings = Rating.objects.filter(pool=game).select_related("player__checkpoint__agent", "player__user")
    return [rating_json(r) for r in ratings.order_by("-mu")]
