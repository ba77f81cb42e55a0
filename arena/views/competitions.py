"""Tournaments, leagues and the per-game leaderboard. Pages refresh their tables live: a socket on
`ws/tournaments/<id>/` or `ws/leagues/<id>/` says something changed, the page refetches its fragment."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena.models import Agent, Checkpoint, Game, League, LeagueSnapshot, Match, Rating, Tournament
from arena.services import leagues, tournaments
from arena.services.anchors import display_elo, display_sigma
from arena.validation import JSONObjectField


class TournamentForm(forms.Form):
    game = forms.ModelChoiceField(queryset=Game.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=100, required=False)
    format = forms.ChoiceField(choices=Tournament.FORMATS)
    participants = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="one per line: checkpoint:<id> or bot:<name>; a gauntlet's first is the challenger",
    )
    games_per_pair = forms.IntegerField(min_value=1, initial=2)
    rounds = forms.IntegerField(min_value=1, required=False, help_text="Swiss only")
    batch_size = forms.IntegerField(
        min_value=1, initial=1, help_text="1: each match live; more: batched, faster"
    )


class LeagueForm(forms.Form):
    interval_seconds = forms.IntegerField(min_value=10, initial=600)
    env_steps_per_tick = forms.IntegerField(min_value=10, initial=2000)
    pool_size = forms.IntegerField(min_value=1, initial=5)
    pool_bots = forms.BooleanField(required=False, initial=True)
    pfsp_mode = forms.ChoiceField(choices=League.PFSP_MODES)
    pfsp_p = forms.FloatField(initial=2.0)
    eval_games = forms.IntegerField(min_value=1, initial=20)
    status = forms.ChoiceField(choices=League.STATUSES)
    train_overrides = JSONObjectField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 2}))


class LeagueCreateForm(LeagueForm):
    game = forms.ModelChoiceField(queryset=Game.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=100)
    members = forms.ModelMultipleChoiceField(queryset=Agent.objects.none())

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = Agent.objects.filter(owner=user).select_related("game")


def _report(request: HttpRequest, exc: Exception) -> None:
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)


# --------------------------------------------------------------------------------------- tournaments


@require_GET
def tournament_list(request: HttpRequest) -> HttpResponse:
    rows = Tournament.objects.select_related("game", "created_by")[:100]
    return render(request, "arena/tournament_list.html", {"tournaments": rows})


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
                participants=[line.strip() for line in data["participants"].splitlines() if line.strip()],
                games_per_pair=data["games_per_pair"],
                rounds=data["rounds"],
                batch_size=data["batch_size"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _report(request, exc)
        else:
            return redirect(tournament)
    checkpoints = Checkpoint.objects.select_related("agent__game").order_by("-created_at")[:30]
    return render(request, "arena/tournament_form.html", {"form": form, "checkpoints": checkpoints})


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
    # A finished tournament shows its stored table; a running one a fresh, cheaper one.
    table = tournament.table or tournaments.tournament_table(tournament=tournament, n_boot=50)
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
    }


@require_GET
def tournament_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tournament = get_object_or_404(Tournament.objects.select_related("game", "created_by"), pk=pk)
    context = _tournament_context(tournament)
    context["is_owner"] = request.user.is_authenticated and tournament.created_by_id == request.user.pk
    return render(request, "arena/tournament_detail.html", context)


@require_GET
def tournament_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    tournament = get_object_or_404(Tournament.objects.select_related("game"), pk=pk)
    return render(request, "arena/_tournament_tables.html", _tournament_context(tournament))


@require_POST
@login_required
def tournament_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        tournament = tournaments.tournament_cancel(user=request.user, tournament_id=pk)
    except ValidationError as exc:
        _report(request, exc)
        tournament = get_object_or_404(Tournament, pk=pk)
    return redirect(tournament)


# --------------------------------------------------------------------------------------- leaderboard


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
    return render(request, "arena/leaderboard.html", {"game": game, "rows": rows, "series": series})


# ------------------------------------------------------------------------------------------- leagues


@require_GET
def league_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "arena/league_list.html", {"leagues": League.objects.select_related("game", "owner")}
    )


@login_required
def league_create(request: HttpRequest) -> HttpResponse:
    form = LeagueCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        game, name, members = data.pop("game"), data.pop("name"), data.pop("members")
        data["train_overrides"] = data.get("train_overrides") or {}
        try:
            league = leagues.league_create(
                user=request.user, game=game.name, name=name, members=[a.pk for a in members], **data
            )
        except (ValidationError, PermissionDenied) as exc:
            _report(request, exc)
        else:
            return redirect(league)
    return render(request, "arena/league_form.html", {"form": form})


def _league_context(league: League) -> dict[str, Any]:
    pool = list(
        LeagueSnapshot.objects.filter(league=league, active=True)
        .select_related("checkpoint__agent", "member__agent")
        .order_by("-tick")
    )
    ratings = {
        r.player.checkpoint_id: r
        for r in Rating.objects.filter(
            pool=league.game.name, player__checkpoint__in=[s.checkpoint for s in pool]
        ).select_related("player")
    }
    for snapshot in pool:
        rating = ratings.get(snapshot.checkpoint_id)
        snapshot.elo = display_elo(rating.mu) if rating else None
    return {
        "league": league,
        "pool": pool,
        "ticks": league.ticks.order_by("-number")[:30],
        "history": leagues.league_history(league=league),
    }


@require_GET
def league_detail(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League.objects.select_related("game", "owner"), pk=pk)
    context = _league_context(league)
    context["is_owner"] = request.user.is_authenticated and league.owner_id == request.user.pk
    if context["is_owner"]:
        fields = list(LeagueForm.base_fields)
        context["form"] = LeagueForm(initial={f: getattr(league, f) for f in fields})
    return render(request, "arena/league_detail.html", context)


@require_GET
def league_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League.objects.select_related("game"), pk=pk)
    return render(request, "arena/_league_tables.html", _league_context(league))


@require_POST
@login_required
def league_update(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League, pk=pk)
    form = LeagueForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect(league)
    data = dict(form.cleaned_data)
    data["train_overrides"] = data.get("train_overrides") or {}
    try:
        leagues.league_update(user=request.user, league_id=pk, **data)
        messages.success(request, "league settings saved")
    except ValidationError as exc:
        _report(request, exc)
    return redirect(league)


@require_POST
@login_required
def league_tick_now(request: HttpRequest, pk: int) -> HttpResponse:
    league = get_object_or_404(League, pk=pk)
    if league.owner_id != request.user.pk:
        raise PermissionDenied("only the league's owner may start a tick")
    from arena.tasks import league_tick

    league_tick.delay(league.pk, True)
    messages.success(request, "a tick is queued; it starts unless one is running")
    return redirect(league)
