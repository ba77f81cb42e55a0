"""Human play: a person against a checkpoint or a reference bot, one move at a time.

The play service is the one owner of a human game: every move is validated and applied under the
match's row lock (the sender holds the seat, it is their turn, `ply` matches, the move is legal), the
agent replies through the same match loop (`marl.match.advance`), both moves are stored, and the events
are published after the commit. Anything wrong raises `PlayError` and changes nothing.

Here: starting a game (and a rematch) and the person's move. Beside it: `play_replies` (the agent's
reply, its agents kept warm), `play_analysis` (what the agent thought of each move), `play_forfeits`
(resigning and abandoned games) and `play_events` (what they share).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import marl.games
from arena import live
from arena.models import Game, Match, MatchSeat, Player
from arena.ratelimit import RateLimited, rate_hit
from arena.services.games import game_get
from arena.services.openings import opening_check
from arena.services.play_cache import match_seats, match_state_keep, match_state_take
from arena.services.play_events import (
    SAVED_FIELDS,
    PlayError,
    human_seat,
    human_seat_of,
    play_finish,
    play_move_event,
    play_publish,
)
from arena.services.play_replies import agents_reply
from arena.services.players import player_for_user, player_from_spec
from marl.errors import IllegalMoveError
from marl.match import MatchState


def _check_rate(user) -> None:
    """At most ARENA_MOVES_PER_SECOND moves per user per second (the shared Redis rate limiter)."""
    try:
        rate_hit(
            scope="move", ident=str(user.pk), limit=settings.ARENA_MOVES_PER_SECOND, window=1, what="moves"
        )
    except RateLimited:
        raise PlayError("rate_limited", "too many moves; slow down") from None


def human_game_create(
    *,
    user,
    game: str,
    opponent: str,
    seat: str | None = None,
    seed: int | None = None,
    opening: Sequence[int | str] | None = None,
) -> Match:
    """Start a game for `user` in `seat` (default: the first) against `opponent` (`bot:<name>` or
    `checkpoint:<id>`, either with ` + mcts:N` for search on top), from `opening` (moves as action
    indices or in the game's notation; none: the start). If the agent is to move, it moves at once."""
    if not user.is_authenticated:
        raise PlayError("forbidden", "sign in to play")
    game_row = game_get(game)
    seat = seat or game_row.seats[0]
    if seat not in game_row.seats:
        raise ValidationError(f"seat must be one of {', '.join(game_row.seats)}")
    agent_seat = next(s for s in game_row.seats if s != seat)
    agent_player = player_from_spec(game=game_row, spec=opponent, user=None, seat=agent_seat)
    start = opening_check(game=game_row, opening=list(opening)) if opening else []
    return human_game_start(
        user=user, game=game_row, seat=seat, opponent=agent_player, seed=seed, opening=start
    )


def human_game_start(
    *,
    user,
    game: Game,
    seat: str,
    opponent: Player,
    seed: int | None = None,
    opening: list[int] | None = None,
    source: Match | None = None,
) -> Match:
    """The game itself: `user` in `seat`, `opponent` (already checked for its seat) in the other, from
    the position after `opening` (stored as the game's opening; checked legal by the caller), and the
    match it was taken over from, if any. If the agent is to move, its move is made at once.

    A game with hidden cards deals afresh, unless it is taken over from a finished `source` with the
    source's `seed`: then it replays that known deal, and so it is unrated."""
    _check_open_games(user)
    human = player_for_user(game=game, user=user)
    start = list(opening or [])
    known_deal = _known_deal(game, seed, source)
    with transaction.atomic():
        match = Match.objects.create(
            game=game,
            created_by=user,
            seed=seed if known_deal else _deal_seed(game, seed),
            status=Match.RUNNING,
            started_at=timezone.now(),
            rated=not known_deal,
            moves=start,
            opening_plies=len(start),
            source_match=source,
            source_ply=len(start) if source is not None else None,
        )
        players = {s: human if s == seat else opponent for s in game.seats}
        seats = MatchSeat.objects.bulk_create(
            [MatchSeat(match=match, seat=s, player=p) for s, p in players.items()]
        )
        state = MatchState(game.name, seed=match.seed, moves=start, opening_plies=len(start))
        events = agents_reply(match, seats, state)
        match.save(update_fields=SAVED_FIELDS)
    match_state_keep(match, state)  # the first move starts from it
    play_publish(match, events)
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    return match


def _known_deal(game: Game, seed: int | None, source: Match | None) -> bool:
    """Whether this is a game with hidden cards taken over from a finished game with its deal: the
    one way a person plays a deal they may already know, which is why such a game never counts."""
    return (
        source is not None
        and not source.is_live
        and seed is not None
        and seed == source.seed
        and marl.games.get_game(game.name).hidden_information
    )


def _deal_seed(game: Game, seed: int | None) -> int:
    """The game's seed. With hidden cards the seed is the deal: a player must not choose it, and it
    comes from the OS's generator, so seeds shown after earlier hands cannot predict the next."""
    if not marl.games.get_game(game.name).hidden_information:
        return random.randrange(2**31) if seed is None else seed
    if seed is not None:
        raise PlayError(
            "bad_request", "the seed of a game with hidden cards is the deal: it cannot be chosen"
        )
    return secrets.randbelow(2**63)


def _check_open_games(user) -> None:
    open_games = Match.objects.filter(
        status=Match.RUNNING, seats__player__user=user, seats__player__kind=Player.HUMAN
    ).count()
    if open_games >= settings.ARENA_MAX_OPEN_GAMES:
        raise ValidationError(
            f"you have {open_games} games open (the limit is {settings.ARENA_MAX_OPEN_GAMES}); finish one first"
        )


def human_move(*, match_id: int, user, ply: Any, move: Any) -> list[dict[str, Any]]:
    """Apply the user's move and the agent's reply. Returns the published events; raises PlayError."""
    if not getattr(user, "is_authenticated", False):
        raise PlayError("forbidden", "sign in to play")
    if not isinstance(ply, int) or isinstance(ply, bool):
        raise PlayError("bad_request", "ply must be an integer")
    _check_rate(user)
    # Four queries with BEGIN and COMMIT (one more when the game ends): the locked row and the UPDATE.
    # This process's caches give the seats and the position (`play_cache`), the agent comes warm, and
    # the events go out after the commit.
    state: MatchState | None = None
    try:
        with transaction.atomic():
            match, seats, seat = _locked_for_move(match_id, user, ply)
            state = match_state_take(match)
            action = _apply_human_move(state, seat, move)
            match.moves = list(state.moves)
            match.seq += 1
            events = [play_move_event(match, state, seat, action)]
            if state.done:
                events.append(play_finish(match, state, seats))
            else:
                events += agents_reply(match, seats, state)
            match.save(update_fields=SAVED_FIELDS)
    except BaseException:
        if state is not None:  # it may hold moves the row does not
            state.close()
        raise
    match_state_keep(match, state)
    play_publish(match, events)
    return events


def _locked_for_move(match_id: int, user, ply: int) -> tuple[Match, list[MatchSeat], str]:
    """The running match, row-locked, its seats, and the user's seat; PlayError unless `ply` is current."""
    # `of=("self",)`: lock the match row only. A bare FOR UPDATE on PostgreSQL also locks the joined
    # game row, and every human move of that game, in every web process, would queue behind it.
    match = Match.objects.select_for_update(of=("self",)).select_related("game").filter(pk=match_id).first()
    if match is None:
        raise PlayError("not_found", "no such game")
    seats = match_seats(match)
    seat = human_seat_of(seats, user)
    if seat is None:
        raise PlayError("forbidden", "you are not playing in this game")
    if match.status != Match.RUNNING:
        raise PlayError("game_over", f"the game is {match.status}")
    if ply != len(match.moves):
        raise PlayError("stale_ply", f"ply {ply} is stale: the game is at ply {len(match.moves)}")
    return match, seats, seat


def _apply_human_move(state: MatchState, seat: str, move: Any) -> int:
    """Play the browser's move for `seat` if it is their turn and the move is legal; the action."""
    if state.to_move != seat:
        raise PlayError("not_your_turn", f"it is {state.to_move}'s turn")
    try:
        action = state.spec.move_from_json(state.env, move)
        state.apply(action)
    except IllegalMoveError as exc:
        raise PlayError("illegal_move", str(exc)) from None
    return action


def human_game_rematch(*, match_id: int, user, swap: bool = True) -> Match:
    """A new game against the same opponent as `match_id`, the user in the other seat (or the same)."""
    match = Match.objects.select_related("game").filter(pk=match_id).first()
    if match is None:
        raise PlayError("not_found", "no such game")
    seat = human_seat(match, user)
    if seat is None:
        raise PlayError("forbidden", "you are not playing in this game")
    seats = match.seats_by_name()
    other = next(name for name in match.game.seats if name != seat)
    opponent = seats[other].player
    checkpoint = opponent.checkpoint
    spec = (  # the agent version: in the other seat it plays its checkpoint for that seat
        f"agent:{checkpoint.agent_id}@{checkpoint.version}"
        if opponent.kind == Player.CHECKPOINT
        else f"bot:{opponent.bot}"
    )
    if opponent.search:
        spec += f" + mcts:{opponent.search}"
    return human_game_create(user=user, game=match.game.name, opponent=spec, seat=other if swap else seat)
