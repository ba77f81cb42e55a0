"""Play against an agent: pick an opponent and a seat, then the play page (board, the agent's evaluation,
its win-probability line). Moves go over the `ws/play/<id>/` socket to the play service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import live, selectors
from arena.forms import PlayForm
from arena.models import Game, Match, Player
from arena.services.play import human_game_create, human_game_rematch
from arena.services.play_events import PlayError, human_seat


@login_required
def play_new(request: HttpRequest) -> HttpResponse:
    games = list(Game.objects.all())
    wanted = request.GET.get("game")
    game = next((g for g in games if g.name == wanted), games[0] if games else None)
    if game is None:
        return render(request, "arena/play/form.html", {"games": games, "form": None, "game": None})
    # `?opponent=checkpoint:<id>&seat=<yours>` comes from an agent page's "Play against this checkpoint".
    initial = {"opponent": request.GET.get("opponent"), "seat": request.GET.get("seat")}
    form = PlayForm(request.POST or None, game=game, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            match = human_game_create(
                user=request.user,
                game=game.name,
                opponent=form.opponent_spec(),
                seat=form.cleaned_data["seat"],
                opening=form.opening_moves(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PlayError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("play_detail", pk=match.pk)
    return render(request, "arena/play/form.html", {"games": games, "form": form, "game": game})


@require_GET
@login_required
def play_detail(request: HttpRequest, pk: int) -> HttpResponse:
    match = get_object_or_404(Match.objects.select_related("game"), pk=pk)
    seat = human_seat(match, request.user)
    if seat is None:  # not their game: watch it on the (read-only) match page
        return redirect(match)
    seats = list(match.seats.select_related("player__checkpoint__agent", "player__user"))
    opponent = next(s for s in seats if s.seat != seat)
    me = next(s for s in seats if s.seat == seat)
    context = {
        "match": match,
        "seat": seat,
        "seats": seats,
        "opponent": opponent,
        "my_rating": selectors.player_rating(me.player, match.game.name),
        "snapshot": {**live.match_snapshot(match, seat), "seat": seat},
        "opponent_is_checkpoint": opponent.player.kind == Player.CHECKPOINT,
    }
    return render(request, "arena/play/detail.html", context)


@require_POST
@login_required
def play_rematch(request: HttpRequest, pk: int) -> HttpResponse:
    """The same opponent again; seats swapped unless `same_seat` is posted."""
    try:
        match = human_game_rematch(match_id=pk, user=request.user, swap=not request.POST.get("same_seat"))
    except (ValidationError, PlayError) as exc:
        messages.error(request, exc.message if isinstance(exc, PlayError) else "; ".join(exc.messages))
        return redirect("play_detail", pk=pk)
    return redirect("play_detail", pk=match.pk)
