"""Tournaments: create one, open its rounds as match tasks, advance exactly once per round, and build the
final table (standings, head-to-head, Elo on the one scale with intervals).

Rounds: round robin and gauntlet open every round at start (their pairings ignore results), so the
workers play them all without waiting; Swiss and knockout open the next round when the last closes
(`tournament_rounds`).

Advancing: a round closes when every match is recorded (finished, or failed after its retries). Any
number of callers may try at once (each finished batch, duplicate task deliveries, `manage.py`): each
takes the tournament's row lock (PostgreSQL; on SQLite IMMEDIATE transactions serialise the writers
outright), re-reads which running rounds are complete, and closes them with a conditional UPDATE
(`status=running -> complete`); the caller that closes the last running round opens the next or
finishes. A second caller finds nothing left to close. The unique (tournament, number) constraint is
the last guard.

Retrying: a failed match goes back to pending (up to `max_attempts` tries) under the round's row lock,
and only while the round is still running, so a retry and an advance can never both win.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from arena import live
from arena.models import (
    Game,
    Match,
    Player,
    Tournament,
    TournamentEntry,
    TournamentMatch,
    TournamentRound,
)
from arena.services.anchors import anchors_pin
from arena.services.games import game_get
from arena.services.openings import openings_check, plies_check, temperature_check
from arena.services.players import player_check_seats, player_from_spec
from arena.services.poker_matches import hands_check
from arena.services.tournament_rounds import (
    MAX_GAMES_PER_PAIR,
    tournament_matches_dispatch,
    tournament_rounds_open,
)
from arena.services.tournament_tables import tournament_table

logger = logging.getLogger(__name__)

MAX_PARTICIPANTS = 64
RECORDED = (Match.FINISHED, Match.FAILED)  # what a round page counts as played


def _int_in(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
    return value


def tournament_create(
    *,
    user,
    game: str,
    format: str,
    participants: list[str],
    name: str = "",
    games_per_pair: int = 2,
    rounds: int | None = None,
    batch_size: int = 1,
    max_attempts: int = 3,
    seed: int | None = None,
    start: bool = True,
    opening_plies: int | None = None,
    openings: list[list[int]] | None = None,
    temperature: float = 0.0,
    hands: int | None = None,
) -> Tournament:
    """Create a tournament between players given as specs (`checkpoint:<id>`, `bot:<name>`) and, with
    `start`, queue its first round. Each pairing plays its games in pairs: one opening, seats swapped;
    openings are `opening_plies` random plies (None: the game's default) or taken in turn from
    `openings`. A poker match is `hands` duplicate hands (None: the game's default), dealt from its own
    seed. Raises ValidationError (bad input) or PermissionDenied (no user)."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied("sign in to create a tournament")
    label = _format_label(format)
    game_row = game_get(game)
    _check_count(participants, label)
    _int_in("games_per_pair", games_per_pair, 1, MAX_GAMES_PER_PAIR)
    _int_in("batch_size", batch_size, 1, 1000)
    _int_in("max_attempts", max_attempts, 1, 10)
    rounds = _rounds(format, rounds, len(participants), label)
    _check_size(format, len(participants), games_per_pair, rounds)
    players = _players(game_row, participants, user)
    plies = plies_check(game=game_row, plies=opening_plies)
    book = openings_check(game=game_row, openings=openings or [])
    temperature = temperature_check(temperature)
    hands = hands_check(game=game_row, hands=hands)
    anchors_pin(game=game_row)
    with transaction.atomic():
        tournament = Tournament.objects.create(
            game=game_row,
            name=(name or "").strip()[:100] or f"{label} {timezone.now():%Y-%m-%d %H:%M}",
            created_by=user,
            format=format,
            seed=random.randrange(2**31) if seed is None else int(seed),
            **{"games_per_pair": games_per_pair, "rounds": rounds, "batch_size": batch_size},
            max_attempts=max_attempts,
            opening_plies=plies,
            openings=book,
            temperature=temperature,
            hands=hands,
        )
        TournamentEntry.objects.bulk_create(
            [TournamentEntry(tournament=tournament, player=p, seed=i + 1) for i, p in enumerate(players)]
        )
    if start:
        tournament_start(user=user, tournament_id=tournament.pk)
        tournament.refresh_from_db()
    return tournament


def _format_label(format: str) -> str:
    formats = dict(Tournament.FORMATS)
    if format not in formats:
        raise ValidationError(f"unknown format {format!r} (known: {', '.join(formats)})")
    return formats[format]


def _check_count(participants: Any, label: str) -> None:
    if not isinstance(participants, list | tuple):
        raise ValidationError("participants must be a list of player specs")
    if len(participants) < 2:
        raise ValidationError(
            f"a {label.lower()} tournament needs at least 2 participants, got {len(participants)}"
        )
    if len(participants) > MAX_PARTICIPANTS:
        raise ValidationError(f"at most {MAX_PARTICIPANTS} participants")


def tournament_match_count(format: str, players: int, games_per_pair: int, rounds: int | None) -> int:
    """How many matches a tournament of this shape plays (at most, for a knockout's byes)."""
    pairs = {
        Tournament.ROUND_ROBIN: players * (players - 1) // 2,
        Tournament.GAUNTLET: players - 1,
        Tournament.KNOCKOUT: players - 1,
        Tournament.SWISS: (rounds or 1) * (players // 2),
    }[format]
    return pairs * games_per_pair


def _check_size(format: str, players: int, games_per_pair: int, rounds: int | None) -> None:
    matches = tournament_match_count(format, players, games_per_pair, rounds)
    if matches > settings.ARENA_MAX_TOURNAMENT_MATCHES:
        raise ValidationError(
            f"that tournament would play {matches:,} matches; the limit is {settings.ARENA_MAX_TOURNAMENT_MATCHES:,}"
            " (fewer participants or games per pair)"
        )


def _rounds(format: str, rounds: int | None, players: int, label: str) -> int | None:
    """Swiss plays `rounds` (by default about log2 of the field); the other formats set their own."""
    if format == Tournament.SWISS:
        default = min(players - 1, math.ceil(math.log2(players)) + 1)
        return _int_in("rounds", default if rounds is None else rounds, 1, 100)
    if rounds is not None:
        raise ValidationError(f"rounds is set by the {label.lower()} format; only Swiss takes it")
    return None


def _players(game: Game, participants: list[str], user) -> list[Player]:
    """The participants' players: checkpoints and bots, each once."""
    players = [player_from_spec(game=game, spec=spec, user=user) for spec in participants]
    if any(p.kind == Player.HUMAN for p in players):
        raise ValidationError("tournaments are between checkpoints and bots, not people")
    for player in players:  # every game pair plays both seats: an entrant needs a policy for each
        player_check_seats(player=player, seats=game.seats[:2])
    ids = [p.pk for p in players]
    twice = next((spec for i, spec in enumerate(participants) if ids[i] in ids[:i]), None)
    if twice is not None:
        raise ValidationError(f"participant {twice!r} is listed twice")
    return players


def tournament_check_owner(*, tournament: Tournament, user) -> None:
    if (
        user is None
        or not user.is_authenticated
        or (tournament.created_by_id != user.pk and not user.is_staff)
    ):
        raise PermissionDenied("only the tournament's creator may do that")


def tournament_start(*, user, tournament_id: int, dispatch: bool = True) -> TournamentRound | None:
    """Open a pending tournament: round 1, or every round when pairings do not depend on results.
    Returns round 1, or None if the tournament had started already."""
    with transaction.atomic():
        tournament = Tournament.objects.select_related("game").get(pk=tournament_id)
        if user is not None:
            tournament_check_owner(tournament=tournament, user=user)
        if not Tournament.objects.filter(pk=tournament_id, status=Tournament.PENDING).update(
            status=Tournament.RUNNING
        ):
            return None
        tournament.status = Tournament.RUNNING
        opened = tournament_rounds_open(tournament=tournament, after=None, dispatch=dispatch)
    _publish_opened(tournament.pk, opened)
    return opened[0]


def tournament_cancel(*, user, tournament_id: int) -> Tournament:
    with transaction.atomic():
        tournament = Tournament.objects.select_for_update().get(pk=tournament_id)
        tournament_check_owner(tournament=tournament, user=user)
        if tournament.status in (Tournament.FINISHED, Tournament.CANCELLED):
            raise ValidationError(f"the tournament is already {tournament.status}")
        tournament.status, tournament.finished_at = Tournament.CANCELLED, timezone.now()
        tournament.save(update_fields=["status", "finished_at"])
        Match.objects.filter(tournament_match__round__tournament=tournament, status=Match.PENDING).update(
            status=Match.ABORTED, error="tournament cancelled", finished_at=timezone.now()
        )
    _publish(tournament.pk, "cancelled")
    return tournament


def tournament_advance(*, tournament_id: int, dispatch: bool = True) -> TournamentRound | None:
    """Close every running round whose matches are all recorded; when none runs any more, open the next
    (or finish). Safe to call any number of times concurrently: exactly one caller closes a round; it
    gets the first round it opened (or the last it closed), the others None."""
    tournament = Tournament.objects.select_related("game").filter(pk=tournament_id).first()
    if tournament is None or tournament.status != Tournament.RUNNING or not _closable(tournament):
        return None  # the cheap read first, no lock taken
    with transaction.atomic():
        # One advancer per tournament at a time: two closing the last two rounds side by side would
        # each see the other's round still running, and neither would finish the tournament. On
        # PostgreSQL this row lock queues them; the second re-reads after the first committed.
        if not Tournament.objects.select_for_update().filter(pk=tournament_id, status=Tournament.RUNNING):
            return None
        closable = _closable(tournament)
        if not closable or TournamentRound.objects.filter(
            pk__in=closable, status=TournamentRound.RUNNING
        ).update(status=TournamentRound.COMPLETE, completed_at=timezone.now()) != len(closable):
            transaction.set_rollback(True)  # another caller closed them first
            return None
        last = tournament.round_set.order_by("-number").first()
        running = tournament.round_set.filter(status=TournamentRound.RUNNING).exists()
        opened = (
            [] if running else tournament_rounds_open(tournament=tournament, after=last, dispatch=dispatch)
        )
        if not running and not opened:
            Tournament.objects.filter(pk=tournament.pk).update(
                status=Tournament.FINISHED,
                finished_at=timezone.now(),
                table=tournament_table(tournament=tournament),
            )
    if opened:
        _publish_opened(tournament.pk, opened)
        return opened[0]
    if not running:
        _publish(tournament.pk, "finished")
    return TournamentRound.objects.get(pk=closable[-1])


def _closable(tournament: Tournament) -> list[int]:
    """The running rounds (ids, in order) whose matches are all recorded. A failed match with tries
    left counts as still to come: closing its round before the retry is queued would record a
    failure that was never final."""
    running = list(
        tournament.round_set.filter(status=TournamentRound.RUNNING)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    if not running:
        return []
    waiting = set(
        Match.objects.filter(tournament_match__round__in=running)
        .exclude(status=Match.FINISHED)
        .exclude(status=Match.FAILED, attempts__gte=tournament.max_attempts)
        .values_list("tournament_match__round", flat=True)
        .distinct()
    )
    return [pk for pk in running if pk not in waiting]


def tournament_match_recorded(*, match_id: int, dispatch: bool = True) -> None:
    """A tournament match finished or failed: retry a failure while tries remain, else try to advance.
    Without `dispatch` a retried match is left pending for an in-process runner to pick up."""
    tm = (
        TournamentMatch.objects.select_related("round__tournament", "match").filter(match_id=match_id).first()
    )
    if tm is None:
        return
    tournament, match = tm.round.tournament, tm.match
    tries_left = match.status == Match.FAILED and match.attempts < tournament.max_attempts
    if tries_left and _retry(tm, tournament, dispatch=dispatch):
        return
    _publish(tournament.pk, "match_recorded", match=match_id)
    tournament_advance(tournament_id=tournament.pk, dispatch=dispatch)


def _retry(tm: TournamentMatch, tournament: Tournament, *, dispatch: bool) -> bool:
    """Put a failed match back to pending, under the round's row lock and only while the round runs
    (so a retry and an advance never both win). True if it was re-queued."""
    with transaction.atomic():
        rnd = TournamentRound.objects.select_for_update().get(pk=tm.round_id)
        retry = rnd.status == TournamentRound.RUNNING and Match.objects.filter(
            pk=tm.match_id, status=Match.FAILED
        ).update(status=Match.PENDING, finished_at=None)
        if retry:
            logger.info(
                "match %s failed (try %s of %s); retrying",
                tm.match_id,
                tm.match.attempts,
                tournament.max_attempts,
            )
            if dispatch:
                tournament_matches_dispatch(tournament=tournament, matches=[(tm.match_id, ("", ""))])
    return bool(retry)


def tournament_failed_count(*, tournament: Tournament) -> int:
    return Match.objects.filter(tournament_match__round__tournament=tournament, status=Match.FAILED).count()


def _publish_opened(tournament_id: int, opened: list[TournamentRound]) -> None:
    _publish(tournament_id, "round_opened", round=opened[0].number, last=opened[-1].number)


def _publish(tournament_id: int, kind: str, **data: Any) -> None:
    live.publish(
        live.tournament_group(tournament_id),
        {"type": "tournament", "event": kind, "tournament_id": tournament_id, **data},
    )
