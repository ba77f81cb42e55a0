"""Leagues: the list, creating one, its page (snapshot pool, ticks, history), its settings and a tick on
demand. The page refreshes its tables live: a socket on `ws/leagues/<id>/` says something changed, the
page refetches its fragment."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import selectors
from arena.forms import LeagueCreateForm, LeagueForm
from arena.models import League, LeagueSnapshot
from arena.services import leagues
from arena.services.league_gates import gate_json
from arena.services.strength import league_strength
from arena.views import error_report
from marl.games import get_game


@require_GET
def league_list(request: HttpRequest) -> HttpResponse:
    rows = League.objects.select_related("game", "owner")
    return render(request, "arena/leagues/list.html", {"leagues": rows})


@login_required
def league_create(request: HttpRequest) -> HttpResponse:
    form = LeagueCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            league = leagues.league_create(
                user=request.user,
                game=data["game"].name,
                name=data["name"],
                members=[agent.pk for agent in data["members"]],
                **form.league_settings(),
            )
        except (ValidationError, PermissionDenied) as exc:
            error_report(request, exc)
        else:
            return redirect(league)
    return render(request, "arena/leagues/form.html", {"form": form})


def _league_context(league: League) -> dict[str, Any]:
    pool = list(
        LeagueSnapshot.objects.filter(league=league, active=True)
        .select_related("checkpoint__agent", "member__agent")
        .order_by("-tick")
    )
    elo = selectors.checkpoints_elo([s.checkpoint for s in pool])
    for snapshot in pool:
        snapshot.elo = (elo.get(snapshot.checkpoint_id) or {}).get("elo")
    return {
        "league": league,
        "pool": pool,
        "ticks": league.ticks.order_by("-number")[:30],
        "history": leagues.league_history(league=league),
        "strength": league_strength(league=league),
        "has_exploitability": get_game(league.game.name).exploitability is not None,
        "gates": _gates(league),
    }


def _gates(league: League) -> list[dict[str, Any]]:
    """The newest SPRT gates with their LLR, bounds and verdict, and the member and tick they test."""
    rows = league.gates.select_related("member__agent").order_by("-pk")[:20]
    return [{**gate_json(gate), "agent": gate.member.agent.name} for gate in rows]


@require_GET
def league_detail(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League.objects.select_related("game", "owner"), pk=pk)
    context = _league_context(league)
    context["is_owner"] = request.user.is_authenticated and league.owner_id == request.user.pk
    if context["is_owner"]:
        fields = list(LeagueForm.base_fields)
        context["form"] = LeagueForm(initial={f: getattr(league, f) for f in fields})
    return render(request, "arena/leagues/detail.html", context)


@require_GET
def league_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League.objects.select_related("game"), pk=pk)
    return render(request, "arena/leagues/_tables.html", _league_context(league))


@require_POST
@login_required
def league_update(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League, pk=pk)
    form = LeagueForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect(league)
    try:
        leagues.league_update(user=request.user, league_id=pk, **form.league_settings())
        messages.success(request, "league settings saved")
    except ValidationError as exc:
        error_report(request, exc)
    return redirect(league)


@require_POST
@login_required
def league_tick_now(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League, pk=pk)
    leagues.league_tick_request(user=request.user, league_id=league.pk)  # PermissionDenied -> 403
    messages.success(request, "a tick is queued; it starts unless one is running")
    return redirect(league)
