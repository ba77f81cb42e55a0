"""Matches: create one, play it in a worker through `marl.match`, and read its state for the browser.

One owner writes a running match: the worker task playing it (agent vs agent). Each move is written to
the row (moves, seq) before its event is published, so a snapshot read after joining the group is never
behind the events that follow it.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from arena import live
from arena.dispatch import task_send_on_commit
from arena.models import Game, Match, MatchSeat, Player
from arena.services.failures import LogTail, failure_report
from arena.services.games import game_get
from arena.services.openings import agent_at_temperature, opening_choose, plies_check, temperature_check
from arena.services.players import player_agent, player_check_seats, player_from_spec
from arena.services.poker_matches import hands_check, poker_game_is, poker_match_play
from arena.services.ratings import rated_game, ratings_record
from arena.services.tournaments import tournament_match_recorded
from marl.agents import Agent
from marl.match import MatchResult, MatchState, Step, advance, close_agents

PLAY_MATCH = "arena.tasks.play_match"

logger = logging.getLogger(__name__)


def match_create(
    *,
    user,
    game: str,
    seats: dict[str, str],
    seed: int | None = None,
    move_delay: float = 0.0,
    rated: bool = True,
    dispatch: bool = True,
    opening_plies: int | None = None,
    opening: list[int] | None = None,
    temperature: float = 0.0,
    hands: int | None = None,
    duplicate: bool = True,
) -> Match:
    """Create a match between players given as seat specs (`checkpoint:<id>`, `bot:<name>`), then queue it.

    `seats` maps every seat of the game to a spec. The game starts from `opening` when given, else from
    `opening_plies` random plies of the seed (the game's default when None, 0 for none); checkpoints
    sample their moves at `temperature` when it is above 0. A poker match plays `hands` hands (None:
    the game's default), each deal twice with seats swapped when `duplicate` (`poker_matches`).
    Raises ValidationError on bad input.
    """
    game_row = game_get(game)
    seed = _checked_input(game_row, seats, move_delay, seed)
    temperature = temperature_check(temperature)
    hands = hands_check(game=game_row, hands=hands, duplicate=duplicate)
    start = opening_choose(
        game=game_row, seed=seed, plies=plies_check(game=game_row, plies=opening_plies), opening=opening
    )
    players = {
        seat: player_from_spec(game=game_row, spec=spec, user=user, seat=seat) for seat, spec in seats.items()
    }
    if any(player.kind == Player.HUMAN for player in players.values()):
        raise ValidationError("games with a person are started from the play page")
    if poker_game_is(game_row.name):  # both players sit in both seats, a deal each way
        for player in players.values():
            player_check_seats(player=player, seats=game_row.seats)
    creator = user if user and user.is_authenticated else None
    with transaction.atomic():
        match = Match.objects.create(
            game=game_row,
            created_by=creator,
            seed=seed,
            move_delay=float(move_delay),
            rated=rated,
            moves=start,
            opening_plies=len(start),
            temperature=temperature,
            hands=hands,
            duplicate=duplicate,
        )
        MatchSeat.objects.bulk_create([MatchSeat(match=match, seat=s, player=p) for s, p in players.items()])
        if dispatch:
            task_send_on_commit(PLAY_MATCH, match.pk)  # broker down: stays PENDING, matches_reap re-sends
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    return match


def _checked_input(game: Game, seats: Any, move_delay: float, seed: int | None) -> int:
    """Refuse seats that are not exactly the game's, a bad delay or seed; the seed (drawn if None)."""
    if not isinstance(seats, dict) or set(seats) != set(game.seats):
        raise ValidationError(f"seats must name exactly the game's seats: {', '.join(game.seats)}")
    if not (0 <= float(move_delay) <= 10):
        raise ValidationError("move_delay must be between 0 and 10 seconds")
    return _checked_seed(seed)


def _checked_seed(seed: Any) -> int:
    if seed is None:
        return random.randrange(2**31)
    if not isinstance(seed, int) or isinstance(seed, bool) or not (0 <= seed < 2**63):
        raise ValidationError("seed must be a non-negative integer")
    return seed


def _claim(match_id: int) -> Match | None:
    """PENDING -> RUNNING for exactly one caller; a redelivered task finds it taken and exits."""
    now = timezone.now()
    updated = Match.objects.filter(pk=match_id, status=Match.PENDING).update(
        status=Match.RUNNING, started_at=now, updated_at=now, attempts=F("attempts") + 1
    )
    if not updated:
        return None
    return Match.objects.select_related("game").get(pk=match_id)


def match_play(*, match_id: int) -> str | None:
    """Play a pending agent-vs-agent match to its end, publishing each move. Returns the final status."""
    match = _claim(match_id)
    if match is None:
        return None
    seats = match.seats_by_name()
    if poker_game_is(match.game.name):
        return _play_poker(match, {name: seat.player for name, seat in seats.items()})
    with LogTail() as log:  # this task's log lines, for the report of a failure
        try:
            agents = {name: _agent(match, seat.player, name) for name, seat in seats.items()}
        except Exception as exc:
            logger.exception("match %s: could not load its players", match.pk)
            return _failed(match, exc, log, None)
        state = MatchState(
            match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
        )
        _publish_event(match, "started", **live.state_views(state))
        try:
            advance(state, agents, on_step=lambda step: _on_move(match, step))
        except Exception as exc:
            logger.exception("match %s failed", match.pk)
            return _failed(match, exc, log, state.to_move)
        finally:
            close_agents(agents)  # an engine's process lives as long as its game
    return match_finish(match=match, result=state.result())


def _play_poker(match: Match, players: dict[str, Player]) -> str:
    """Play a poker match's hands in batched loops. No per-move events: hundreds of hands at once are
    not followed move by move; a `hands` event says how many are done, the finished event shows the
    last hand and the page every hand."""
    _publish_event(match, "started")

    def played(hands: int) -> None:  # the row's updated_at is the reaper's sign of life
        _publish_event(match, "hands", played=hands, of=match.hands)

    with LogTail() as log:
        try:
            result = poker_match_play(match=match, players=players, on_hands=played)
        except Exception as exc:
            logger.exception("poker match %s failed", match.pk)
            return _failed(match, exc, log, None)
    return match_finish(match=match, result=result)


def _failed(match: Match, exc: Exception, log: LogTail, to_move: str | None) -> str:
    ply = len(match.moves)
    said = f"after {ply} moves" + (f", with {to_move} to move" if to_move else ", before the agents moved")
    stopped_at = {"ply": ply, "to_move": to_move, "said": said}
    report = failure_report(exc, log=log, stopped_at=stopped_at)
    return match_fail(match_id=match.pk, error=report["what"], failure=report)


def _agent(match: Match, player: Player, seat: str) -> Agent:
    agent = player_agent(player=player, seed=match.seed, seat=seat)
    return agent_at_temperature(agent, match.temperature, match.seed)


def _on_move(match: Match, step: Step) -> None:
    """Store and publish one move of a live match, then wait so people can follow it."""
    match.moves.append(int(step.action))
    _publish_event(
        match, "move", ply=step.ply, seat=step.seat, action=int(step.action), **live.state_views(step.state)
    )
    if match.move_delay:
        time.sleep(match.move_delay)


def _publish_event(match: Match, kind: str, **data: Any) -> None:
    """Write the row first, then publish: the row is the truth a snapshot is read from."""
    match.seq += 1
    Match.objects.filter(pk=match.pk).update(seq=match.seq, moves=match.moves, updated_at=timezone.now())
    live.publish(
        live.match_group(match.pk), live.match_event(match_id=match.pk, seq=match.seq, kind=kind, **data)
    )


def match_finish(*, match: Match, result: MatchResult) -> str:
    """Store the result, score the seats, rate it if rated, and announce it."""
    seats = list(match.seats.select_related("player"))
    match.apply_result(result, seats)
    with transaction.atomic():
        match.save(update_fields=Match.RESULT_FIELDS)
        MatchSeat.objects.bulk_update(seats, ["score"])
        game = rated_game(match, {seat.seat: seat for seat in seats})
        if game is not None:
            ratings_record(pool=match.game.name, games=[game])
    live.publish(live.match_group(match.pk), live.match_finished_event(match))
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    tournament_match_recorded(match_id=match.pk)
    return match.status


def match_fail(*, match_id: int, error: str, failure: dict[str, Any] | None = None) -> str:
    """End a match as failed with its error (and the report of what failed, where, if there is one)."""
    with transaction.atomic():
        match = Match.objects.select_for_update().get(pk=match_id)
        match.status, match.error, match.finished_at = Match.FAILED, error[:2000], timezone.now()
        match.failure = failure or {}
        match.seq += 1
        match.save(update_fields=["status", "error", "failure", "finished_at", "seq"])
    live.publish(
        live.match_group(match.pk),
        live.match_event(
            match_id=match.pk, seq=match.seq, kind="failed", error=match.error, failure=match.failure or None
        ),
    )
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    tournament_match_recorded(match_id=match.pk)  # a tournament retries it or closes the round
    return match.status


def matches_reap() -> int:
    """Re-queue agent-vs-agent matches whose worker died mid-game (no move for ARENA_MATCH_STALE_SECONDS),
    and re-send pending ones whose message was lost (the broker was down when they were created).

    The next worker rebuilds the game from the stored moves and plays on; the event numbers continue.
    A re-sent match that was queued after all is claimed once (PENDING -> RUNNING); the copy exits.
    Returns how many matches were re-queued or re-sent.
    """
    return _resend_lost() + _requeue_stale()


def _resend_lost() -> int:
    lost = timezone.now() - timedelta(seconds=settings.ARENA_QUEUED_REDISPATCH_SECONDS)
    pending = (
        Match.objects.filter(status=Match.PENDING, updated_at__lt=lost)
        .exclude(seats__player__kind=Player.HUMAN)
        # Tournament matches wait in batches (a long queue is normal there); tournaments re-send their own.
        .exclude(tournament_match__isnull=False)
        .values_list("pk", flat=True)
    )
    resent = 0
    for match_id in list(pending):
        # Bumping updated_at spaces the re-sends out by ARENA_QUEUED_REDISPATCH_SECONDS.
        if Match.objects.filter(pk=match_id, status=Match.PENDING).update(updated_at=timezone.now()):
            task_send_on_commit(PLAY_MATCH, match_id)
            resent += 1
    return resent


def _requeue_stale() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.ARENA_MATCH_STALE_SECONDS)
    stale = (
        Match.objects.filter(status=Match.RUNNING, updated_at__lt=cutoff)
        .exclude(seats__player__kind=Player.HUMAN)
        .values_list("pk", flat=True)
    )
    requeued = 0
    for match_id in list(stale):
        with transaction.atomic():
            if Match.objects.filter(pk=match_id, status=Match.RUNNING, updated_at__lt=cutoff).update(
                status=Match.PENDING, updated_at=timezone.now()
            ):
                task_send_on_commit(PLAY_MATCH, match_id)
                requeued += 1
    return requeued
