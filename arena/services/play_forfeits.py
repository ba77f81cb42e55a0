"""The end of a human game without a last move: a player resigns, or the game is abandoned."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from arena import live
from arena.models import Match, Player
from arena.services.play_cache import match_state_take
from arena.services.play_events import SAVED_FIELDS, PlayError, human_seat, play_finish, play_publish
from marl.match import MatchState

logger = logging.getLogger(__name__)


def human_game_resign(*, match_id: int, user) -> list[dict[str, Any]]:
    """The user gives the game up: a loss for their seat."""
    return _forfeit(match_id=match_id, seat_of=user, reason="resigned")


def _forfeit(*, match_id: int, seat_of=None, seat: str | None = None, reason: str) -> list[dict[str, Any]]:
    with transaction.atomic():
        match = Match.objects.select_for_update(of=("self",)).select_related("game").get(pk=match_id)
        if seat_of is not None:
            seat = human_seat(match, seat_of)
            if seat is None:
                raise PlayError("forbidden", "you are not playing in this game")
        if match.status != Match.RUNNING:
            raise PlayError("game_over", f"the game is {match.status}")
        with match_state_take(match) as state:  # this process's cached position goes with the game
            state.forfeit(seat, reason=reason)
            events = [play_finish(match, state, list(match.seats.all()))]
        match.save(update_fields=SAVED_FIELDS)
    play_publish(match, events)
    return events


def human_games_expire() -> int:
    """End abandoned human games (no move for ARENA_ABANDON_SECONDS): a loss for the seat to move, so
    they leave the live lists. One game that cannot be rebuilt is logged and aborted, never allowed to
    stop the others from expiring. Returns how many games were ended."""
    cutoff = timezone.now() - timedelta(seconds=settings.ARENA_ABANDON_SECONDS)
    candidates = Match.objects.filter(
        status=Match.RUNNING, seats__player__kind=Player.HUMAN, updated_at__lt=cutoff
    ).distinct()
    return sum(_expire(match) for match in candidates)


def _expire(match: Match) -> bool:
    try:
        state = MatchState(
            match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
        )
        if state.to_move is not None:
            _forfeit(match_id=match.pk, seat=state.to_move, reason="abandoned")
            return True
    except PlayError:
        return False  # it ended meanwhile
    except Exception:
        logger.exception("abandoned game %s cannot be rebuilt; aborting it", match.pk)
    # Nobody can move (or the game cannot be rebuilt): it can never finish, so it stops being live.
    aborted = Match.objects.filter(pk=match.pk, status=Match.RUNNING).update(
        status=Match.ABORTED, reason="abandoned", finished_at=timezone.now(), updated_at=timezone.now()
    )
    if aborted:
        live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    return bool(aborted)
