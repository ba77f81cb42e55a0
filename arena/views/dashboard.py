"""The dashboard and its live fragments (active runs, live and recent matches)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from arena import selectors
from arena.models import Agent, Game


def _matches_context() -> dict:
    return {
        "live_matches": selectors.matches_live(),
        "recent_matches": selectors.matches_recent(finished=True),
    }


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    agents = selectors.agents_overview(list(Agent.objects.active().select_related("game", "owner")[:50]))
    context = {
        "games": Game.objects.all(),
        "agents": agents,
        "runs": selectors.runs_active(),
        **_matches_context(),
    }
    return render(request, "arena/dashboard.html", context)


@require_GET
def fragment_runs(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/training/_active.html", {"runs": selectors.runs_active()})


@require_GET
def fragment_matches(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/matches/_live_and_recent.html", _matches_context())
