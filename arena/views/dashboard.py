"""The dashboard and its live fragments (the demo game, active runs, live and recent matches)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from arena import selectors
from arena.models import Agent, Game
from arena.services.demo import DEMO_USER


def _matches_context() -> dict:
    return {
        "live_matches": selectors.matches_live(),
        "recent_matches": selectors.matches_recent(finished=True),
    }


def _demo_context() -> dict:
    return {"demo": selectors.demo_match(DEMO_USER)}


def _start_context(request: HttpRequest) -> dict:
    """The "start here" steps, shown until the visitor owns an agent: whom to play, where to watch."""
    newcomer = not (request.user.is_authenticated and Agent.objects.filter(owner=request.user).exists())
    opponent = selectors.demo_opponent(DEMO_USER) if newcomer else None
    return {"newcomer": newcomer, "first_opponent": opponent}


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    agents = selectors.agents_overview(list(Agent.objects.active().select_related("game", "owner")[:50]))
    context = {
        "games": Game.objects.all(),
        "agents": agents,
        "runs": selectors.runs_active(),
        **_matches_context(),
        **_demo_context(),
        **_start_context(request),
    }
    return render(request, "arena/dashboard.html", context)


@require_GET
def fragment_runs(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/training/_active.html", {"runs": selectors.runs_active()})


@require_GET
def fragment_matches(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/matches/_live_and_recent.html", _matches_context())


@require_GET
def fragment_demo(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/matches/_demo.html", _demo_context())
