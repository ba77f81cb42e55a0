"""Where a queued match or tournament stands in the games queue, and why it waits.

Counted from the database, not from the broker: the games queue serves pending matches oldest first
(a tournament's games too), so the pending matches created before one are the ones ahead of it. That
is honest and cheap (two indexed queries); what the games workers are busy with is the worker matches
running now (a person's game runs in the web process, not on a worker, so it is left out).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from arena.models import Match, Player, Tournament

QUEUE = "games"
BUSY_SHOWN = 3  # running matches named; the rest are counted


def match_queue_place(*, match: Match) -> dict[str, Any] | None:
    """A pending match's place: how many pending matches are ahead of it and what runs; None once it
    has started (or ended)."""
    if match.status != Match.PENDING:
        return None
    ahead = _pending_before(match).exclude(pk=match.pk).count()
    return _place(ahead, f"{_matches(ahead)} ahead of this one")


def tournament_queue_place(*, tournament: Tournament) -> dict[str, Any] | None:
    """A pending tournament's place, or a running one's games still waiting behind other matches; None
    when none of its games waits."""
    own = Match.objects.filter(tournament_match__round__tournament=tournament)
    if tournament.status == Tournament.PENDING:
        reference: Match | Tournament | None = tournament
    elif tournament.status == Tournament.RUNNING:
        reference = own.filter(status=Match.PENDING).order_by("created_at", "pk").first()
    else:
        return None
    if reference is None:  # running, its queued games all taken: the table says how they go
        return None
    ahead = _pending_before(reference).exclude(pk__in=own.values("pk")).count()
    waiting = own.filter(status=Match.PENDING).count()
    what = f"{_matches(ahead)} ahead of this tournament's {waiting or 'first'} queued game" + (
        "s" if waiting > 1 else ""
    )
    place = _place(ahead, what)
    place["own_waiting"] = waiting
    return place


def _pending_before(row: Match | Tournament) -> QuerySet[Match]:
    """Pending matches queued before `row` (ties broken by id, for matches made in one transaction)."""
    older = Q(created_at__lt=row.created_at)
    if isinstance(row, Match):
        older |= Q(created_at=row.created_at, pk__lt=row.pk)
    return Match.objects.filter(older, status=Match.PENDING)


def _place(ahead: int, what: str) -> dict[str, Any]:
    running = (
        Match.objects.filter(status=Match.RUNNING)
        .exclude(seats__player__kind=Player.HUMAN)
        .select_related("game")
        .order_by("started_at", "pk")
    )
    count = running.count()
    busy = [
        {
            "match": m.pk,
            "game": m.game.name,
            "running_s": round((timezone.now() - m.started_at).total_seconds()) if m.started_at else None,
        }
        for m in running[:BUSY_SHOWN]
    ]
    return {
        "queue": QUEUE,
        "ahead": ahead,
        "running": count,
        "busy": busy,
        "text": _text(ahead, what, count, busy),
    }


def _matches(n: int) -> str:
    return f"{n} match{'es' if n != 1 else ''}"


def _text(ahead: int, what: str, count: int, busy: list[dict[str, Any]]) -> str:
    where = f"{what} in the {QUEUE} queue" if ahead else f"next in the {QUEUE} queue"
    if not count:
        why = f"no {QUEUE} worker has taken it yet (none is playing anything: is one running?)"
    else:
        named = ", ".join(
            f"#{b['match']} ({b['game']}"
            + (f", {b['running_s']} s so far" if b["running_s"] is not None else "")
            + ")"
            for b in busy
        )
        more = f" and {count - len(busy)} more" if count > len(busy) else ""
        why = f"the {QUEUE} workers are busy with match{'es' if count > 1 else ''} {named}{more}"
    return f"Queued: {where}; {why}."
