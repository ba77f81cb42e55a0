"""What every part of human play shares: its error, the fields a move changes on the row, whose seat
is whose, and the events a move or the end of a game publishes once its transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from arena import live, selectors
from arena.dispatch import task_send
from arena.models import Match, MatchSeat, Player
from arena.services.ratings import ratings_record_match
from marl.match import MatchState

logger = logging.getLogger(__name__)

# What a move changes on the row (updated_at too: it is when the game last moved, for abandonment).
SAVED_FIELDS = [
    "moves",
    "seq",
    "status",
    "result",
    "winner",
    "reason",
    "finished_at",
    "updated_at",
    "analysis",
]


class PlayError(Exception):
    """A refused request; `code` is stable for clients, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def human_seat(match: Match, user) -> str | None:
    """The seat `user` holds in `match`, if any."""
    return human_seat_of(list(match.seats.select_related("player")), user)


def human_seat_of(seats: list[MatchSeat], user) -> str | None:
    for seat in seats:
        if seat.player.kind == Player.HUMAN and seat.player.user_id == getattr(user, "pk", None):
            return seat.seat
    return None


def play_move_event(
    match: Match, state, seat: str, action: int, analysis: dict | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"ply": state.ply, "seat": seat, "action": action, **live.state_views(state)}
    if analysis is not None:
        data["analysis"] = analysis
    # Kept on the row, one entry per move, so a reload redraws the heat map and the win-probability line.
    stored = list(match.analysis or [])[: state.ply - 1]
    match.analysis = stored + [None] * (state.ply - 1 - len(stored)) + [analysis]
    return live.match_event(match_id=match.pk, seq=match.seq, kind="move", **data)


def play_finish(match: Match, state: MatchState, seats: list[MatchSeat]) -> dict[str, Any]:
    """Record the ended game on `match` (the caller saves the row); `play_publish` has it rated."""
    match.apply_result(state.result(), seats)
    MatchSeat.objects.bulk_update(seats, ["score"])
    event = live.match_event(
        match_id=match.pk, seq=match.seq, kind="finished", result=match.result, **live.state_views(state)
    )
    # A rated game's `rating` message follows: the page keeps its socket open for it.
    return {**event, "rating_pending": True} if match.rated else event


def play_publish(match: Match, events: list[dict[str, Any]]) -> None:
    """Send `events` to the match's group once the move commits; after the end of a rated game, have a
    worker rate it (`human_game_rate`, which sends the page the person's new rating).

    Rating is a worker's job because it is the costliest part of a move by far: the online update,
    and a refit of the pool's Elo that grows with the pool (a game's last move cost 6x an ordinary
    one, and every other move of the web process queued behind it). With the broker unreachable the
    game is rated here, as the last thing after its events."""
    group = live.match_group(match.pk)
    ended = any(e.get("event") == "finished" for e in events)

    def publish() -> None:
        live.publish_many(group, events)
        if ended:
            live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
            if match.rated and not task_send(RATE_TASK, match.pk):
                human_game_rate(match_id=match.pk)

    transaction.on_commit(publish)


RATE_TASK = "arena.tasks.human_game_rate"


def human_game_rate(*, match_id: int) -> dict[str, Any] | None:
    """Rate a finished human game in its pool (once: a second call finds it rated) and send its page
    `{"type": "rating", "match_id": id, "rating": ...}`, the person's rating as the page renders it
    (None when it cannot be read). Returns that rating; a match deleted meanwhile has none to rate."""
    match = Match.objects.select_related("game").filter(pk=match_id).first()
    if match is None:
        return None
    ratings_record_match(match_id=match_id)
    rating = _person_rating(match)
    live.publish(live.match_group(match_id), {"type": "rating", "match_id": match_id, "rating": rating})
    return rating


def _person_rating(match: Match) -> dict[str, Any] | None:
    """The rating of the person in `match` in its game's pool, as the play page renders it; None when
    it cannot be read (the page then keeps the line it has: the next visit shows the new one)."""
    try:
        seat = match.seats.filter(player__kind=Player.HUMAN).select_related("player").first()
        return None if seat is None else selectors.player_rating(seat.player, match.game.name)
    except Exception:
        logger.warning("match %s: could not read the person's rating", match.pk, exc_info=True)
        return None
