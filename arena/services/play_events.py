"""What every part of human play shares: its error, the fields a move changes on the row, whose seat
is whose, and the events a move or the end of a game publishes once its transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from arena import live, selectors
from arena.models import Match, MatchSeat, Player
from arena.services.ratings import rated_game, ratings_record
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
    """Record the ended game on `match` (the caller saves the row) and rate it once the move commits."""
    match.apply_result(state.result(), seats)
    MatchSeat.objects.bulk_update(seats, ["score"])
    # Rated from the rows in hand, as they commit (`ratings_record_match` would read them again).
    rated = rated_game(match, {seat.seat: seat for seat in seats})
    if rated is not None:
        transaction.on_commit(lambda: ratings_record(pool=match.game.name, games=[rated]))
    return live.match_event(
        match_id=match.pk, seq=match.seq, kind="finished", result=match.result, **live.state_views(state)
    )


def play_publish(match: Match, events: list[dict[str, Any]]) -> None:
    """Send `events` to the match's group once the move commits. The end of the game goes last, with
    the person's rating the game earned (rated by `play_finish` at the commit), so the page shows it
    without a reload; reading it may refit the pool's Elo, so the moves go out before it."""
    group = live.match_group(match.pk)
    moves = [e for e in events if e.get("event") != "finished"]
    ended = [e for e in events if e.get("event") == "finished"]

    def publish() -> None:
        live.publish_many(group, moves)
        if ended:
            rating = _person_rating(match)
            live.publish_many(group, [{**e, "rating": rating} if rating else e for e in ended])
            live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})

    transaction.on_commit(publish)


def _person_rating(match: Match) -> dict[str, Any] | None:
    """The rating of the person in `match` in its game's pool, as the play page renders it; None when
    it cannot be read (the page then keeps the line it has: the next visit shows the new one)."""
    try:
        seat = match.seats.filter(player__kind=Player.HUMAN).select_related("player").first()
        return None if seat is None else selectors.player_rating(seat.player, match.game.name)
    except Exception:
        logger.warning("match %s: could not read the person's rating", match.pk, exc_info=True)
        return None
