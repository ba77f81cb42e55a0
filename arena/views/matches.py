"""Matches: the live page with its replay, the JSON replay, and creating a match."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import listings, live, selectors
from arena.forms import MatchForm
from arena.models import Game, Match
from arena.services.matches import match_create as match_create_service
from arena.services.play_events import PlayError
from arena.services.poker_matches import poker_match_summary
from arena.services.queue_places import match_queue_place
from arena.services.take_overs import match_take_over as match_take_over_service


def _match(pk: int) -> Match:
    return get_object_or_404(Match.objects.select_related("game"), pk=pk)


def _hand(request: HttpRequest, match: Match) -> int | None:
    """The `?hand=` a poker match's page shows (None: its last); 404 for one it does not have."""
    raw = request.GET.get("hand")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= max(1, len(match.hand_results)):
        raise Http404(f"match {match.pk} has no hand {raw}")
    return int(raw)


@require_GET
def match_detail(request: HttpRequest, pk: int) -> HttpResponse:
    match = _match(pk)
    hand = _hand(request, match)
    # The page draws from the same snapshot the socket sends, so a first paint needs no round trip.
    context = {
        "match": match,
        "seats": match.seats.select_related("player__checkpoint__agent", "player__user"),
        "snapshot": live.match_snapshot(match, hand=hand),
        "replay": selectors.match_replay_states(match, hand=hand) if not match.is_live else None,
        "take_over_seats": _take_over_seats(match),
        "queue_place": match_queue_place(match=match),
        "poker": poker_match_summary(match, shown=hand),
        "hand": hand,
    }
    return render(request, "arena/matches/detail.html", context)


def _take_over_seats(match: Match) -> list[dict[str, str]]:
    """The seats a person may take over in this game's replay: those facing a checkpoint or a bot."""
    if match.is_live or match.hand_results:  # a person takes over one hand, not a match of many
        return []
    seats = {s.seat: s.player for s in match.seats.select_related("player__checkpoint__agent")}
    return [
        {"seat": seat, "against": seats[other].label}
        for seat in match.game.seats
        for other in match.game.seats
        if other != seat and other in seats and seats[other].kind != "human"
    ]


@require_POST
@login_required
def match_take_over(request: HttpRequest, pk: int) -> HttpResponse:
    """Take over the replayed game at the posted ply, in the posted seat: a human game from there."""
    match = _match(pk)
    try:
        ply = int(request.POST.get("ply", ""))
    except ValueError:
        messages.error(request, "choose a move to take over from")
        return redirect(match)
    try:
        game = match_take_over_service(
            user=request.user, match_id=pk, ply=ply, seat=request.POST.get("seat", "")
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    except PlayError as exc:
        messages.error(request, exc.message)
    else:
        return redirect("play_detail", pk=game.pk)
    return redirect(match)


@require_GET
def match_replay(request: HttpRequest, pk: int) -> JsonResponse:
    """The board after every ply, for the replay slider of a match that finished while watched."""
    match = _match(pk)
    hand = _hand(request, match)
    return JsonResponse(
        {"id": match.pk, "status": match.status, "states": selectors.match_replay_states(match, hand=hand)}
    )


@login_required
def match_create(request: HttpRequest) -> HttpResponse:
    games = list(Game.objects.all())
    game = next((g for g in games if g.name == request.GET.get("game")), games[0] if games else None)
    if game is None:
        return render(request, "arena/matches/form.html", {"games": games, "form": None, "game": None})
    # `?checkpoint=<id>` comes from an agent page: that checkpoint starts in the seat it learned.
    form = MatchForm(request.POST or None, game=game, checkpoint=request.GET.get("checkpoint"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            match = match_create_service(
                user=request.user,
                game=game.name,
                seats=form.seats(),
                seed=data["seed"],
                move_delay=data["move_delay"],
                rated=data["rated"],
                opening_plies=data["opening_plies"],
                temperature=data["temperature"] or 0.0,
                hands=data.get("hands"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(match)
    return render(request, "arena/matches/form.html", {"games": games, "form": form, "game": game})


@require_GET
def match_list(request: HttpRequest) -> HttpResponse:
    matches = listings.listing(request, listings.matches_listed)
    return render(
        request, "arena/matches/list.html", {"listing": matches, "matches": matches.page.object_list}
    )
