"""Tournaments: the list, creating one, its page (standings, cross-table, rounds) and cancelling it.
The page refreshes its tables live: a socket on `ws/tournaments/<id>/` says something changed, the page
refetches its fragment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena.forms import TournamentForm
from arena.models import Checkpoint, Match, Tournament
from arena.services import tournaments
from arena.services.openings import openings_parse
from arena.services.queue_places import tournament_queue_place
from arena.services.tournament_tables import tournament_table_now
from arena.views import error_report


@require_GET
def tournament_list(request: HttpRequest) -> HttpResponse:
    rows = Tournament.objects.select_related("game", "created_by")[:100]
    return render(request, "arena/tournaments/list.html", {"tournaments": rows})


@login_required
def tournament_create(request: HttpRequest) -> HttpResponse:
    form = TournamentForm(request.POST or None, initial={"game": request.GET.get("game")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tournament = tournaments.tournament_create(
                user=request.user,
                game=data["game"].name,
                format=data["format"],
                name=data["name"],
                participants=form.participant_specs(),
                games_per_pair=data["games_per_pair"],
                rounds=data["rounds"],
                batch_size=data["batch_size"],
                opening_plies=data["opening_plies"],
                openings=openings_parse(game=data["game"], text=data["openings"]),
                temperature=data["temperature"] or 0.0,
                hands=data["hands"],
            )
        except (ValidationError, PermissionDenied) as exc:
            error_report(request, exc)
        else:
            return redirect(tournament)
    checkpoints = Checkpoint.objects.select_related("agent__game").order_by("-created_at")[:30]
    return render(request, "arena/tournaments/form.html", {"form": form, "checkpoints": checkpoints})


def _crosstable(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the head-to-head matrix in standings order; cells coloured from red (lost all) to green."""
    order, h2h, labels = table.get("order", []), table.get("head_to_head", {}), table.get("labels", {})
    rows = []
    for a in order:
        cells = []
        for b in order:
            rec = h2h.get(a, {}).get(b)
            if a == b or not rec:
                cells.append({"self": a == b})
                continue
            n = rec["w"] + rec["d"] + rec["l"]
            score = (rec["w"] + rec["d"] / 2) / n
            cells.append({**rec, "style": f"background: hsl({round(120 * score)}, 70%, 85%)"})
        rows.append({"label": labels.get(a, a), "cells": cells})
    return rows


def _tournament_context(tournament: Tournament) -> dict[str, Any]:
    table = tournament_table_now(tournament=tournament)
    rounds = []
    for rnd in tournament.round_set.order_by("number"):
        matches = list(
            Match.objects.filter(tournament_match__round=rnd)
            .order_by("pk")
            .prefetch_related("seats__player__checkpoint__agent")
        )
        done = sum(m.status in tournaments.RECORDED for m in matches)
        byes = [table.get("labels", {}).get(b, b) for b in rnd.data.get("byes", [])]
        rounds.append({"round": rnd, "matches": matches, "done": done, "byes": byes})
    return {
        "tournament": tournament,
        "table": table,
        "crosstable": _crosstable(table),
        "labels": [table["labels"].get(p, p) for p in table.get("order", [])],
        "rounds": rounds,
        "failed": tournaments.tournament_failed_count(tournament=tournament),
        "queue_place": tournament_queue_place(tournament=tournament),
    }


@require_GET
def tournament_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tournament = get_object_or_404(Tournament.objects.select_related("game", "created_by"), pk=pk)
    context = _tournament_context(tournament)
    context["is_owner"] = request.user.is_authenticated and tournament.created_by_id == request.user.pk
    return render(request, "arena/tournaments/detail.html", context)


@require_GET
def tournament_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    tournament = get_object_or_404(Tournament.objects.select_related("game"), pk=pk)
    return render(request, "arena/tournaments/_tables.html", _tournament_context(tournament))


@require_POST
@login_required
def tournament_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        tournament = tournaments.tournament_cancel(user=request.user, tournament_id=pk)
    except ValidationError as exc:
        error_report(request, exc)
        tournament = get_object_or_404(Tournament, pk=pk)
    return redirect(tournament)
