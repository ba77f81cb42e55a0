"""Human play: a person against a checkpoint or a reference bot, one move at a time.

The play service is the one owner of a human game: every move is validated and applied under the
match's row lock (the sender holds the seat, it is their turn, `ply` matches, the move is legal), the
agent replies through the same match loop (`marl.match.advance`), both moves are stored, and the events
are published after the commit. Anything wrong raises `PlayError` and changes nothing.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import marl.agents
import marl.games
from arena import live
from arena.models import Game, Match, MatchSeat, Player
from arena.ratelimit import RateLimited, rate_hit
from arena.services.games import game_get
from arena.services.openings import opening_check
from arena.services.players import player_agent, player_for_user, player_from_spec
from arena.services.ratings import ratings_record_match
from marl import winprob
from marl.errors import EngineError, IllegalMoveError
from marl.match import MatchState, Step, advance, close_agents
from marl.search import SearchAgent, SearchResult

# What a move changes on the row (updated_at too: it is when the game last moved, for abandonment).
logger = logging.getLogger(__name__)

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


class WarmAgents:
    """The checkpoint agents in play, kept loaded per process (a bounded LRU): loading one reads and
    hashes its files, and a reply must never wait for that. Keyed by the player's checkpoint (id and
    sha256: a checkpoint's files never change under its hash), the seat it plays and the search on
    top, so a hit costs no query either; the entrant's checkpoint for the seat is looked up on a miss."""

    def __init__(self, size: int) -> None:
        self.size, self.loads = size, 0
        self._agents: OrderedDict[tuple[int, str, str, str], marl.agents.Agent] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, player: Player, seed: int, seat: str) -> marl.agents.Agent:
        if player.kind == Player.BOT:
            return player_agent(player=player, seed=seed)
        key = (player.checkpoint_id, player.checkpoint.sha256, seat, player.search)
        with self._lock:
            agent = self._agents.get(key)
            if agent is not None:
                self._agents.move_to_end(key)
                return agent
        agent = player_agent(player=player, seed=seed, seat=seat, value=True)  # its value: the chart
        with self._lock:
            self.loads += 1
            self._agents[key] = agent
            while len(self._agents) > self.size:
                self._agents.popitem(last=False)
        return agent

    def clear(self) -> None:
        with self._lock:
            self._agents.clear()


warm_agents = WarmAgents(size=32)


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
    match it was taken over from, if any. If the agent is to move, its move is made at once."""
    _check_open_games(user)
    human = player_for_user(game=game, user=user)
    start = list(opening or [])
    with transaction.atomic():
        match = Match.objects.create(
            game=game,
            created_by=user,
            seed=_deal_seed(game, seed),
            status=Match.RUNNING,
            started_at=timezone.now(),
            rated=True,
            moves=start,
            opening_plies=len(start),
            source_match=source,
            source_ply=len(start) if source is not None else None,
        )
        players = {s: human if s == seat else opponent for s in game.seats}
        seats = MatchSeat.objects.bulk_create(
            [MatchSeat(match=match, seat=s, player=p) for s, p in players.items()]
        )
        events = _agents_reply(match, seats)
        match.save(update_fields=SAVED_FIELDS)
    _publish(match, events)
    live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"})
    return match


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


def human_seat(match: Match, user) -> str | None:
    """The seat `user` holds in `match`, if any."""
    return _seat_of(list(match.seats.select_related("player")), user)


def _seat_of(seats: list[MatchSeat], user) -> str | None:
    for seat in seats:
        if seat.player.kind == Player.HUMAN and seat.player.user_id == getattr(user, "pk", None):
            return seat.seat
    return None


def human_move(*, match_id: int, user, ply: Any, move: Any) -> list[dict[str, Any]]:
    """Apply the user's move and the agent's reply. Returns the published events; raises PlayError."""
    if not getattr(user, "is_authenticated", False):
        raise PlayError("forbidden", "sign in to play")
    if not isinstance(ply, int) or isinstance(ply, bool):
        raise PlayError("bad_request", "ply must be an integer")
    _check_rate(user)
    # Five queries with BEGIN and COMMIT (one more when the game ends): the locked row, its seats and
    # players, the UPDATE. The agent comes warm from this process, the events go out after the commit.
    with transaction.atomic():
        match, seats, seat = _locked_for_move(match_id, user, ply)
        with MatchState(
            match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
        ) as state:  # env reused after
            action = _apply_human_move(state, seat, move)
            match.moves = list(state.moves)
            match.seq += 1
            events = [_move_event(match, state, seat, action)]
            if state.done:
                events.append(_finish(match, state, seats))
            else:
                events += _agents_reply(match, seats, state)
        match.save(update_fields=SAVED_FIELDS)
    _publish(match, events)
    return events


def _locked_for_move(match_id: int, user, ply: int) -> tuple[Match, list[MatchSeat], str]:
    """The running match, row-locked, its seats, and the user's seat; PlayError unless `ply` is current."""
    # `of=("self",)`: lock the match row only. A bare FOR UPDATE on PostgreSQL also locks the joined
    # game row, and every human move of that game, in every web process, would queue behind it.
    match = Match.objects.select_for_update(of=("self",)).select_related("game").filter(pk=match_id).first()
    if match is None:
        raise PlayError("not_found", "no such game")
    seats = list(match.seats.select_related("player__checkpoint__agent__game"))
    seat = _seat_of(seats, user)
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


def _move_event(match: Match, state, seat: str, action: int, analysis: dict | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"ply": state.ply, "seat": seat, "action": action, **live.state_views(state)}
    if analysis is not None:
        data["analysis"] = analysis
    # Kept on the row, one entry per move, so a reload redraws the heat map and the win-probability line.
    stored = list(match.analysis or [])[: state.ply - 1]
    match.analysis = stored + [None] * (state.ply - 1 - len(stored)) + [analysis]
    return live.match_event(match_id=match.pk, seq=match.seq, kind="move", **data)


def _analysis(agent, state) -> dict[str, Any] | None:
    """What the agent thought of each legal move (its scores) and its chance (`marl.winprob`): exact
    where the game is solved, else from its value network, or a proven result of its search."""
    exact = winprob.exact(state.spec.name, state.moves)
    scores = getattr(agent, "scores", None)
    obs, mask = state.observation()
    values = scores(obs, mask) if scores is not None else None
    if values is None:
        return None if exact is None else {"kind": None, "scores": None, **exact.as_json()}
    cleaned = _cleaned(values)
    legal = [v for v, ok in zip(cleaned, mask, strict=False) if ok and v is not None]
    kind = getattr(agent, "kind", "search")  # PolicyAgent says "q" or "logits"; bots search
    best = max(legal) if legal else None
    chance = exact
    if chance is None and kind == "logits":  # action probabilities say nothing of how the game stands
        value = agent.value(obs) if hasattr(agent, "value") else None  # PPO's critic, az's value head
        chance = None if value is None else winprob.from_outcome_value(value, "value")
    elif chance is None and kind == "q" and best is not None:
        chance = winprob.from_outcome_value(best, "q")  # Q estimates the outcome, unbounded: clipped
    elif chance is None and best is not None:
        chance = winprob.from_search_scores(best)  # a heuristic score is no probability
    out: dict[str, Any] = {"kind": kind, "scores": cleaned}
    return {**out, **chance.as_json()} if chance else {**out, "win_probability": None}


def _cleaned(values: Any) -> list[float | None]:
    return [None if (v is None or not math.isfinite(float(v))) else round(float(v), 4) for v in values]


def _search_analysis(result: SearchResult, state: MatchState) -> dict[str, Any]:
    """A tree search's view: the share of its simulations each legal move got, and its chance: exact
    where the game is solved, else from the root's value (the mover's mean outcome, in [-1, 1])."""
    value = max(-1.0, min(1.0, float(result.root_value)))
    chance = winprob.exact(state.spec.name, state.moves) or winprob.from_outcome_value(value, "search")
    return {"kind": "visits", "scores": _cleaned(result.shares), "value": round(value, 4), **chance.as_json()}


def _agents_reply(
    match: Match, seats: list[MatchSeat], state: MatchState | None = None
) -> list[dict[str, Any]]:
    """Let the agent seats move (through the match loop) until a human is to move or the game ends."""
    state = state or MatchState(
        match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
    )
    reply = _Reply(match)
    agents = {
        s.seat: _Thinking(warm_agents.get(s.player, match.seed, s.seat), state, reply.notes)
        for s in seats
        if s.player.kind != Player.HUMAN
    }
    try:
        advance(state, agents, on_step=reply.on_step)
    except EngineError as exc:  # the move rolls back with the transaction; the next try starts afresh
        raise PlayError("engine_failed", f"the opponent's engine failed: {exc}") from None
    finally:
        close_agents(agents)  # an engine's process lives for one reply: the history is sent each time
    if state.done:
        reply.events.append(_finish(match, state, seats))
    return reply.events


class _Thinking:
    """Wraps an agent so its evaluation of the position is noted as it moves."""

    def __init__(self, agent: marl.agents.Agent, state: MatchState, notes: dict[str, Any]) -> None:
        self.agent, self.state, self.notes = agent, state, notes
        self.needs_moves = marl.agents.needs_moves(agent)  # an engine is handed the move history

    def act(self, observation: Any, mask: Any) -> int:
        if isinstance(self.agent, SearchAgent):  # one search gives both the move and its heat map
            result = self.agent.search(observation, mask)
            self.notes["analysis"] = _search_analysis(result, self.state)
            return result.action
        self.notes["analysis"] = _analysis(self.agent, self.state)
        return self.agent.act(observation, mask)

    def act_moves(self, moves: list[int], observation: Any, mask: Any) -> int:
        self.notes["analysis"] = _analysis(self.agent, self.state)
        return self.agent.act_moves(moves, observation, mask)  # type: ignore[attr-defined]

    def close(self) -> None:
        close = getattr(self.agent, "close", None)
        if callable(close):
            close()


class _Reply:
    """The agents' moves as events, each with the analysis noted just before it."""

    def __init__(self, match: Match) -> None:
        self.match, self.events, self.notes = match, [], {}

    def on_step(self, step: Step) -> None:
        match = self.match
        match.moves = list(step.state.moves)
        match.seq += 1
        analysis = self.notes.pop("analysis", None)
        self.events.append(_move_event(match, step.state, step.seat, int(step.action), analysis))


def _finish(match: Match, state: MatchState, seats: list[MatchSeat]) -> dict[str, Any]:
    """Record the ended game on `match` (the caller saves the row) and rate it once the move commits."""
    match.apply_result(state.result(), seats)
    MatchSeat.objects.bulk_update(seats, ["score"])
    transaction.on_commit(lambda: ratings_record_match(match_id=match.pk))
    return live.match_event(
        match_id=match.pk, seq=match.seq, kind="finished", result=match.result, **live.state_views(state)
    )


def _publish(match: Match, events: list[dict[str, Any]]) -> None:
    group = live.match_group(match.pk)
    transaction.on_commit(lambda: live.publish_many(group, events))
    if any(e.get("event") == "finished" for e in events):
        transaction.on_commit(lambda: live.publish(live.DASHBOARD_GROUP, {"type": "matches_changed"}))


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
        state = MatchState(
            match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
        )
        state.forfeit(seat, reason=reason)
        events = [_finish(match, state, list(match.seats.all()))]
        match.save(update_fields=SAVED_FIELDS)
    _publish(match, events)
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
