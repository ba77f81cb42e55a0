"""Reads shared by views and consumers: what a page or a socket snapshot shows. No writes here."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from arena.models import Agent, Checkpoint, Match, Rating, TrainingRun, TrainingStat
from arena.serializers import run_json
from marl.match import MatchState

# A curve needs a few hundred points at most; older points are thinned out rather than all sent.
HISTORY_LIMIT = 1000


def _history(stats: QuerySet[TrainingStat]) -> list[dict[str, Any]]:
    rows = list(stats.order_by("env_steps", "id").values("run_id", "env_steps", "data"))
    if len(rows) > HISTORY_LIMIT:
        step = len(rows) / HISTORY_LIMIT
        rows = [rows[int(i * step)] for i in range(HISTORY_LIMIT - 1)] + [rows[-1]]
    return [{**row["data"], "run_id": row["run_id"], "env_steps": row["env_steps"]} for row in rows]


def run_snapshot(run_id: int) -> dict[str, Any] | None:
    """Status, progress and stored stats of one run, or None if there is no such run."""
    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    return {
        "type": "snapshot",
        "run": run_json(run),
        "history": _history(TrainingStat.objects.filter(run=run)),
    }


def agent_snapshot(agent_id: int) -> dict[str, Any] | None:
    """An agent's runs and the stats of all of them (one learning curve across runs), or None."""
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is None:
        return None
    runs = [run_json(run) for run in agent.training_runs.all()[:20]]
    history = _history(TrainingStat.objects.filter(run__agent=agent))
    return {
        "type": "snapshot",
        "agent": {"id": agent.pk, "name": agent.name},
        "runs": runs,
        "history": history,
    }


def ratings_by_checkpoint(checkpoints: list[Checkpoint]) -> dict[int, Rating]:
    """The rating of each checkpoint in its game's pool, keyed by checkpoint id."""
    ratings = Rating.objects.filter(
        player__checkpoint__in=checkpoints, pool__in={cp.agent.game.name for cp in checkpoints}
    ).select_related("player")
    return {rating.player.checkpoint_id: rating for rating in ratings}


def agents_overview(agents: list[Agent]) -> list[Agent]:
    """Attach `latest` (newest checkpoint per seat, each with `.rating`) to each agent in two queries."""
    newest = Checkpoint.objects.filter(agent=OuterRef("agent"), seat=OuterRef("seat")).order_by("-version")
    latest = list(
        Checkpoint.objects.filter(agent__in=agents, version=Subquery(newest.values("version")[:1]))
        .select_related("agent__game")
        .order_by("seat")
    )
    ratings = ratings_by_checkpoint(latest) if latest else {}
    by_agent: dict[int, list[Checkpoint]] = {}
    for checkpoint in latest:
        checkpoint.rating = ratings.get(checkpoint.pk)
        by_agent.setdefault(checkpoint.agent_id, []).append(checkpoint)
    for agent in agents:
        agent.latest = by_agent.get(agent.pk, [])
    return agents


def matches_recent(
    *, agent: Agent | None = None, game_id: int | None = None, finished: bool = False, limit: int = 20
) -> QuerySet[Match]:
    """Newest matches first; optionally only finished ones, those a checkpoint of `agent` played in,
    or those of one game."""
    matches = Match.objects.select_related("game").prefetch_related("seats__player__checkpoint__agent")
    if finished:
        matches = matches.exclude(status__in=(Match.PENDING, Match.RUNNING))
    if agent is not None:
        matches = matches.filter(seats__player__checkpoint__agent=agent).distinct()
    if game_id is not None:
        matches = matches.filter(game_id=game_id)
    return matches.order_by("-created_at")[:limit]


def matches_live(limit: int = 20) -> QuerySet[Match]:
    return (
        Match.objects.filter(Q(status=Match.PENDING) | Q(status=Match.RUNNING))
        .select_related("game")
        .prefetch_related("seats__player__checkpoint__agent")
        .order_by("-created_at")[:limit]
    )


def runs_active(limit: int = 50) -> QuerySet[TrainingRun]:
    return (
        TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE)
        .select_related("agent__game", "agent__owner")
        .order_by("-created_at")[:limit]
    )


def match_state_json(match: Match) -> dict[str, Any]:
    """The match as the browser draws it: the board rebuilt from the stored moves, seats and result."""
    with MatchState(match.game.name, seed=match.seed, moves=match.moves) as state:
        board = state.state_json()
    return {
        "id": match.pk,
        "game": match.game.name,
        "render_hint": match.game.render_hint,
        "status": match.status,
        "seats": {
            seat.seat: seat.player.label for seat in match.seats.select_related("player__checkpoint__agent")
        },
        "state": board,
        "moves": list(match.moves),
        "result": match.result or None,
        "reason": match.reason,
        "winner": match.winner or None,
        "analysis": list(match.analysis or []),  # per move: the agent's evaluation (human games)
    }


def match_replay_states(match: Match) -> list[dict[str, Any]]:
    """The board after each ply (index 0 is the start), rebuilt by replaying the stored moves."""
    state = MatchState(match.game.name, seed=match.seed)
    states = [state.state_json()]
    for action in match.moves:
        state.apply(action)
        states.append(state.state_json())
    return states
