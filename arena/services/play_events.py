"""What every part of human play shares: its error, the fields a move changes on the row, whose seat
is whose, and the events a move or the end of a game publishes once its transaction commits."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from arena import live
from arena.models import Match, MatchSeat, Player
from arena.services.ratings import ratings_record_match
from marl.match import MatchState

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
    transaction.on_commit(lambda: ratings_record_match(match_id=match.pk))
    return live.match_event(
        match_id=match.pk, seq=match.seq, kind="finished", result=match.result, **live.state_views(state)
    )


def play_publish(match: Match, events: list[dict[str, Any]]) -> None:
    group = live.match_group(match.pk)
    transaction.on_commit(lambda: live.publish_many(group, events))
    if any(e.get("event") == "finished" for e in events):
        transaction.on_commit(lambda: live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"}))
