"""The dashboard, its live fragments, the games, and sign-up."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from arena import selectors
from arena.models import Agent, Checkpoint, Game, Rating
from arena.ratelimit import RateLimited, client_ip
from arena.services.users import user_create


def _agents_overview(agents: list[Agent]) -> list[Agent]:
    """Attach `latest` (newest checkpoint per seat, each with `.rating`) to each agent in two queries."""
    newest = Checkpoint.objects.filter(agent=OuterRef("agent"), seat=OuterRef("seat")).order_by("-version")
    latest = list(
        Checkpoint.objects.filter(agent__in=agents, version=Subquery(newest.values("version")[:1]))
        .select_related("agent__game")
        .order_by("seat")
    )
    ratings = selectors.ratings_by_checkpoint(latest) if latest else {}
    by_agent: dict[int, list[Checkpoint]] = {}
    for checkpoint in latest:
        checkpoint.rating = ratings.get(checkpoint.pk)
        by_agent.setdefault(checkpoint.agent_id, []).append(checkpoint)
    for agent in agents:
        agent.latest = by_agent.get(agent.pk, [])
    return agents


def _matches_context() -> dict:
    return {
        "live_matches": selectors.matches_live(),
        "recent_matches": selectors.matches_recent(finished=True),
    }


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    agents = _agents_overview(list(Agent.objects.select_related("game", "owner")[:50]))
    context = {
        "games": Game.objects.all(),
        "agents": agents,
        "runs": selectors.runs_active(),
        **_matches_context(),
    }
    return render(request, "arena/dashboard.html", context)


@require_GET
def fragment_runs(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/_runs.html", {"runs": selectors.runs_active()})


@require_GET
def fragment_matches(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/_matches.html", _matches_context())


@require_GET
def game_list(request: HttpRequest) -> HttpResponse:
    return render(request, "arena/game_list.html", {"games": Game.objects.all()})


@require_GET
def game_detail(request: HttpRequest, name: str) -> HttpResponse:
    game = get_object_or_404(Game, name=name)
    leaderboard = (
        Rating.objects.filter(pool=game.name)
        .select_related("player__checkpoint__agent", "player__user")
        .order_by("-mu")[:50]
    )
    agents = _agents_overview(list(game.agents.select_related("game", "owner")[:50]))
    context = {
        "game": game,
        "agents": agents,
        "leaderboard": leaderboard,
        "matches": selectors.matches_recent(game_id=game.pk, limit=20),
    }
    return render(request, "arena/game_detail.html", context)


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                client_ip=client_ip(request),
            )
        except RateLimited as exc:
            form.add_error(None, exc)
            status = 429
        except ValidationError as exc:
            form.add_error("username", exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=status)
