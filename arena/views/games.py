"""Games: the list, a game's page (agents, leaderboard, recent matches) and its full leaderboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from arena import selectors
from arena.models import Game, Rating
from arena.services.anchors import display_elo, display_sigma


@require_GET
def game_list(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/games/list.html", {"games": Game.objects.all()})


@require_GET
def game_detail(request: HttpRequest, name: str) -> HttpResponse:
    game = get_object_or_404(Game, name=name)
    leaderboard = (
        Rating.objects.filter(pool=game.name)
        .select_related("player__checkpoint__agent", "player__user")
        .order_by("-mu")[:50]
    )
    agents = selectors.agents_overview(list(game.agents.active().select_related("game", "owner")[:50]))
    context = {
        "game": game,
        "agents": agents,
        "leaderboard": leaderboard,
        "matches": selectors.matches_recent(game_id=game.pk, limit=20),
    }
    return render(request, "arena/games/detail.html", context)


@require_GET
def leaderboard(request: HttpRequest, name: str) -> HttpResponse:
    """Ratings of a game's pool on the anchored scale (random bot = 0) with ±2σ intervals, and each
    agent's rating by checkpoint (env steps) as a chart."""
    game = get_object_or_404(Game, name=name)
    ratings = list(
        Rating.objects.filter(pool=game.name)
        .select_related("player__checkpoint__agent")
        .order_by("-mu")[:200]
    )
    rows, series = [], {}
    for rating in ratings:
        elo, spread = display_elo(rating.mu), 2 * display_sigma(rating.sigma)
        rows.append(
            {
                "rating": rating,
                "elo": elo,
                "lo": elo - spread,
                "hi": elo + spread,
                "anchor": rating.player.is_anchor,
            }
        )
        checkpoint = rating.player.checkpoint
        if checkpoint is not None:
            series.setdefault(f"{checkpoint.agent.name} {checkpoint.seat}", []).append(
                [checkpoint.env_steps, round(elo, 1)]
            )
    for points in series.values():
        points.sort()
    return render(request, "arena/games/leaderboard.html", {"game": game, "rows": rows, "series": series})
