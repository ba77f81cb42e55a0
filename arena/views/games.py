"""Games: the list, a game's page (agents, leaderboard, recent matches) and its full leaderboard."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from arena import selectors
from arena.models import Game, Player
from arena.services.anchors import anchor_pins
from arena.services.payoffs import payoffs_table
from arena.services.ratings import rating_fit_get


@require_GET
def game_list(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/games/list.html", {"games": Game.objects.all()})


@require_GET
def game_detail(request: HttpRequest, name: str) -> HttpResponse:
    game = get_object_or_404(Game, name=name)
    fit = rating_fit_get(pool=game.name)
    agents = selectors.agents_overview(list(game.agents.active().select_related("game", "owner")[:50]))
    context = {
        "game": game,
        "agents": agents,
        "fit": fit,
        "leaderboard": selectors.leaderboard_rows(game, fit, limit=50),
        "matches": selectors.matches_recent(game_id=game.pk, limit=20),
    }
    return render(request, "arena/games/detail.html", context)


@require_GET
def leaderboard(request: HttpRequest, name: str) -> HttpResponse:
    """The pool's Elo fit on the anchored scale (random bot = 0) with 95% intervals and the seat
    advantage, and each agent's Elo by checkpoint (env steps) as a chart."""
    game = get_object_or_404(Game, name=name)
    fit = rating_fit_get(pool=game.name)
    rows = selectors.leaderboard_rows(game, fit)
    series: dict[str, list[list[float]]] = {}
    for row in rows:
        checkpoint = row["player"].checkpoint if row["player"].kind == Player.CHECKPOINT else None
        if checkpoint is not None:
            series.setdefault(f"{checkpoint.agent.name} {checkpoint.seat}", []).append(
                [checkpoint.env_steps, round(row["elo"], 1)]
            )
    for points in series.values():
        points.sort()
    context = {
        "game": game,
        "games": Game.objects.all(),
        "rows": rows,
        "series": series,
        "fit": fit,
        "anchors": anchor_pins(game.name),
        "payoffs": _payoffs_grid(payoffs_table(game=game)),
    }
    return render(request, "arena/games/leaderboard.html", context)


@require_GET
def leaderboard_default(request: HttpRequest) -> HttpResponse:
    """The navigation's leaderboard: the game played most, the others one click away on its page."""
    game = Game.objects.annotate(played=Count("matches")).order_by("-played", "name").first()
    if game is None:
        raise Http404("no games registered")
    return redirect("leaderboard", name=game.name)


def _payoffs_grid(table: dict) -> dict:
    """The payoff table with each row's cells zipped (value and games), as the template walks it."""
    rows = [
        {"player": player, "cells": [{"value": v, "games": g} for v, g in zip(values, games, strict=True)]}
        for player, values, games in zip(table["players"], table["payoffs"], table["games"], strict=True)
    ]
    return {**table, "rows": rows}
