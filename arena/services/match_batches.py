"""Playing many agent-vs-agent matches in one worker task through `marl.match.play_matches`.

A match as its own task costs a message, a claim, a DB write and a publish per move; fine for a game
people watch, too slow for a tournament of thousands. A batch claims its pending matches at once,
loads each player once, plays every seating's games in one batched loop (one forward pass per step
for all of them), and records results and ratings with bulk queries. No per-move events: batched
matches are rarely watched (the tournament page updates per batch); a page open on one gets its end,
the `finished` or `failed` event a match played on its own sends.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from arena import live
from arena.models import Match, MatchSeat, TournamentMatch
from arena.services.openings import agent_at_temperature
from arena.services.players import player_agent
from arena.services.poker_matches import poker_game_is, poker_match_play
from arena.services.ratings import rated_game, ratings_record
from arena.services.tournaments import tournament_match_recorded
from marl.agents import Agent
from marl.match import MatchResult, play_matches

logger = logging.getLogger(__name__)


def _claim(match_ids: list[int]) -> list[Match]:
    """PENDING -> RUNNING for this caller alone (a duplicate delivery finds them taken)."""
    with transaction.atomic():
        # skip_locked: two copies of a batch on PostgreSQL split it instead of waiting; SQLite's
        # IMMEDIATE transactions serialise them and the status filter does the rest.
        rows = list(
            Match.objects.select_for_update(skip_locked=True)
            .filter(pk__in=match_ids, status=Match.PENDING)
            .values_list("pk", flat=True)
        )
        Match.objects.filter(pk__in=rows, status=Match.PENDING).update(
            status=Match.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
        )
    return list(Match.objects.filter(pk__in=rows).select_related("game").order_by("pk"))


def matches_play_batch(*, match_ids: list[int], dispatch: bool = True) -> dict[str, int]:
    """Play the pending ones of `match_ids`, record them, and tell their tournaments (which queue
    retries and next rounds unless `dispatch` is off). Returns counts."""
    matches = _claim(list(match_ids))
    if not matches:
        return {"finished": 0, "failed": 0}
    seat_rows: dict[int, dict[str, MatchSeat]] = defaultdict(dict)
    for seat in MatchSeat.objects.filter(match__in=matches).select_related(
        "player__checkpoint", "player__game"
    ):
        seat_rows[seat.match_id][seat.seat] = seat
    results, errors = _play(matches, seat_rows)
    _record(matches, seat_rows, results, errors)
    _notify_tournaments(results, errors, dispatch=dispatch)
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    return {"finished": len(results), "failed": len(errors)}


def _play(
    matches: list[Match], seat_rows: dict[int, dict[str, MatchSeat]]
) -> tuple[dict[int, MatchResult], dict[int, str]]:
    """Play the matches, one batched loop per seating of players; results and errors by match id."""
    game = matches[0].game
    agents: dict[tuple[int, str], Agent] = {}  # each player's policy per seat loaded once for the batch
    results: dict[int, MatchResult] = {}
    errors: dict[int, str] = {}
    for group in _seatings(matches, seat_rows):
        try:
            seated = {seat.seat: seat.player for seat in seat_rows[group[0].pk].values()}
            if poker_game_is(game.name):  # each match is many hands, already one batched loop
                for m in group:
                    results[m.pk] = poker_match_play(match=m, players=seated, on_hands=_alive(m))
                continue
            for seat, player in seated.items():
                if (player.pk, seat) not in agents:
                    agents[player.pk, seat] = player_agent(player=player, seed=group[0].seed, seat=seat)
            by_seat = {
                s: agent_at_temperature(agents[p.pk, s], group[0].temperature, group[0].seed)
                for s, p in seated.items()
            }
            # Each match starts from its stored opening (the leading moves it was created with).
            played = play_matches(
                game.name, by_seat, [m.seed for m in group], openings=[m.opening for m in group]
            )
            results.update({m.pk: r for m, r in zip(group, played, strict=True)})
        except Exception as exc:  # one broken checkpoint must not sink the other pairings of the batch
            logger.exception("batch of %s matches failed", len(group))
            errors.update({m.pk: f"{type(exc).__name__}: {exc}"[:2000] for m in group})
    return results, errors


def _alive(match: Match) -> Callable[[int], None]:
    """Marks a long match's row alive between its hands, so the reaper does not re-queue it."""
    return lambda hands: Match.objects.filter(pk=match.pk).update(updated_at=timezone.now())


def _seatings(matches: list[Match], seat_rows: dict[int, dict[str, MatchSeat]]) -> list[list[Match]]:
    """The matches grouped by who sits where (and how they sample): each group plays in one batched loop."""
    groups: dict[tuple, list[Match]] = defaultdict(list)
    for match in matches:
        seated = tuple(seat_rows[match.pk][s].player_id for s in match.game.seats)
        groups[(*seated, match.temperature)].append(match)
    return list(groups.values())


def _notify_tournaments(results: dict[int, MatchResult], errors: dict[int, str], *, dispatch: bool) -> None:
    """Failures one by one (each may be retried); finished matches only need one advance try per
    tournament, so notify through the last match of each tournament."""
    for match_id in [*errors, *_last_per_tournament(list(results))]:
        tournament_match_recorded(match_id=match_id, dispatch=dispatch)


def _last_per_tournament(match_ids: list[int]) -> list[int]:
    last: dict[int, int] = {}
    for tm in TournamentMatch.objects.filter(match_id__in=match_ids).select_related("round"):
        last[tm.round.tournament_id] = tm.match_id
    return list(last.values())


def _record(
    matches: list[Match],
    seat_rows: dict[int, dict[str, MatchSeat]],
    results: dict[int, MatchResult],
    errors: dict[int, str],
) -> None:
    """Write every match's result or error, the seats' scores and the ratings, with bulk queries; then,
    once that commits, tell a page open on a match how it ended (`_announce`)."""
    now = timezone.now()
    for match in matches:
        if match.pk in errors:
            match.status, match.error, match.finished_at = Match.FAILED, errors[match.pk], now
            match.updated_at = now  # auto_now fields are not set by raw updates
            match.seq += 1  # the `failed` event's number, written with the row: no gap in the stream
        else:
            match.apply_result(results[match.pk], list(seat_rows[match.pk].values()))
    finished = [m for m in matches if m.pk in results]
    games = [rated_game(m, seat_rows[m.pk]) for m in finished]
    with transaction.atomic():
        _update_rows(Match, matches, [*Match.RESULT_FIELDS, "error"])
        _update_rows(MatchSeat, [seat for m in finished for seat in seat_rows[m.pk].values()], ["score"])
        if any(games):
            ratings_record(pool=matches[0].game.name, games=[g for g in games if g is not None])
    # After the commit: the row an event points to is there to resync from.
    transaction.on_commit(lambda: _announce(matches, errors))


def _announce(matches: list[Match], errors: dict[int, str]) -> None:
    """Each match's `failed` or `finished` event, numbered and shaped as for a match played on its own,
    to the pages open on it, in one hop. A finished event replays the game for its last position, and
    a batch of hundreds is mostly unwatched: one count of the groups' members first, and events only
    for the watched. The results committed before that count, so a page that joins after it reads the
    ended match in its snapshot: no end is missed."""
    groups = {match.pk: live.match_group(match.pk) for match in matches}
    watched = live.groups_watched(list(groups.values()))
    events = []
    for match in matches:
        if groups[match.pk] not in watched:
            continue
        try:
            if match.pk in errors:
                event = live.match_event(
                    match_id=match.pk,
                    seq=match.seq,
                    kind="failed",
                    error=match.error,
                    failure=match.failure or None,
                )
            else:
                event = live.match_finished_event(match)
        except Exception:  # the result is stored; a page without this event still finds it on a resync
            logger.exception("match %s: could not build its end event", match.pk)
            continue
        events.append((groups[match.pk], event))
    live.publish_each(events)


def _update_rows(model, rows: list, fields: list[str]) -> None:
    """One parametrised UPDATE per row through `executemany`: `bulk_update` builds a CASE per field and
    row, which for a batch of hundreds costs more than playing the games. Values are adapted by each
    field (`get_db_prep_save`), so JSON and datetimes are right on SQLite and PostgreSQL alike."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in columns)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in columns] + [row.pk] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
