"""Reads shared by views and consumers: what a page or a socket snapshot shows. No writes here, but
for refilling the pool's cached Elo fit when rated games arrived since it was stored. Reads of one
domain that would make this module too long live beside it (`failures`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery

from arena.models import (
    Agent,
    Checkpoint,
    Game,
    Match,
    Player,
    Rating,
    RatingFit,
    RatingFitPoint,
    TrainingRun,
    TrainingStat,
)
from arena.serializers import checkpoint_row_json, run_json
from arena.services.anchors import anchor_elo, display_elo, display_sigma
from arena.services.ratings import rating_fit_get
from marl.games import GAMES
from marl.games_poker import revealed_at_end
from marl.match import MatchState

# What a row of matches names: each seat's checkpoint and agent, or its person.
MATCH_ROW_PREFETCH = ("seats__player__checkpoint__agent", "seats__player__user")
# A run page lists this many of the checkpoints its run wrote.
RUN_CHECKPOINTS_SHOWN = 50
# A curve needs a few hundred points at most; older points are thinned out rather than all sent.
HISTORY_LIMIT = 1000


def _history(stats: QuerySet[TrainingStat]) -> list[dict[str, Any]]:
    rows = list(stats.order_by("env_steps", "id").values("run_id", "env_steps", "data"))
    if len(rows) > HISTORY_LIMIT:
        step = len(rows) / HISTORY_LIMIT
        rows = [rows[int(i * step)] for i in range(HISTORY_LIMIT - 1)] + [rows[-1]]
    return [{**row["data"], "run_id": row["run_id"], "env_steps": row["env_steps"]} for row in rows]


def run_snapshot(run_id: int) -> dict[str, Any] | None:
    """Status, progress, stored stats and checkpoints of one run, or None if there is no such run."""
    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    return {
        "type": "snapshot",
        "run": run_json(run),
        "history": _history(TrainingStat.objects.filter(run=run)),
        "checkpoints": [checkpoint_row_json(cp) for cp in run_checkpoints(run)],
    }


def run_checkpoints(run: TrainingRun) -> QuerySet[Checkpoint]:
    """The checkpoints a run wrote, as its page lists them: by seat, the newest version first."""
    return run.checkpoints.select_related("agent__game").order_by("seat", "-version")[:RUN_CHECKPOINTS_SHOWN]


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
    matches = Match.objects.select_related("game").prefetch_related(*MATCH_ROW_PREFETCH)
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
        .prefetch_related(*MATCH_ROW_PREFETCH)
        .order_by("-created_at")[:limit]
    )


def demo_match(demo_user: str) -> Match | None:
    """The game the dashboard draws on a board: the demo's live match, else any live game between
    agents or bots, else the demo's last finished one."""
    matches = Match.objects.select_related("game").prefetch_related(*MATCH_ROW_PREFETCH)
    live = matches.filter(status__in=(Match.PENDING, Match.RUNNING)).exclude(seats__player__kind=Player.HUMAN)
    return (
        live.filter(created_by__username=demo_user).order_by("-created_at").first()
        or live.order_by("-created_at").first()
        or matches.filter(created_by__username=demo_user, status=Match.FINISHED)
        .order_by("-created_at")
        .first()
    )


def demo_opponent(demo_user: str) -> Checkpoint | None:
    """A newcomer's first opponent: the demo's newest checkpoint for the second seat (the newcomer
    moves first), or None before the demo has trained."""
    newest = (
        Checkpoint.objects.filter(agent__owner__username=demo_user, agent__archived_at__isnull=True)
        .select_related("agent__game")
        .order_by("-created_at", "-pk")[:20]
    )
    return next((cp for cp in newest if cp.seat in cp.agent.game.seats[1:]), None)


def runs_active(limit: int = 50) -> QuerySet[TrainingRun]:
    return (
        TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE)
        .select_related("agent__game", "agent__owner")
        .order_by("-created_at")[:limit]
    )


def match_state_json(match: Match, viewer: str | None = None, hand: int | None = None) -> dict[str, Any]:
    """The match as the browser draws it for `viewer` (a seat, or None for a spectator): the board
    rebuilt from the stored moves, seats and result; for a poker match of many hands, hand `hand`
    (None: the last), its seats named by who sat there. Hidden information stays hidden: a poker
    hand's cards are the viewer's own until the rules show them, and the agent's analysis (drawn from
    its cards) waits for the end of the hand. Raises IndexError for a hand the match does not have."""
    seed, moves, swapped = match.hand(hand)
    with MatchState(match.game.name, seed=seed, moves=moves, opening_plies=match.opening_plies) as state:
        board = state.state_json(viewer)
        hidden = state.spec.hidden_information and not state.done
    labels = {
        seat.seat: seat.player.label
        for seat in match.seats.select_related("player__checkpoint__agent", "player__user")
    }
    if swapped:  # the match's two players sat the other way round in this hand
        one, two = match.game.seats[:2]
        labels = {one: labels.get(two), two: labels.get(one)}
    return {
        "id": match.pk,
        "game": match.game.name,
        "render_hint": match.game.render_hint,
        "status": match.status,
        "seats": labels,
        "hands": match.hands,  # a poker match of many hands is not followed move by move
        "state": board,
        "moves": moves,
        "opening_plies": match.opening_plies,  # the leading moves that were the opening
        "result": match.result or None,
        "reason": match.reason,
        "winner": match.winner or None,
        # a failed match's error and report (`services.failures`), as its page shows them
        "error": match.error or None,
        "failure": match.failure or None,
        # per move: the agent's evaluation (human games)
        "analysis": [] if hidden else list(match.analysis or []),
    }


def match_replay_states(
    match: Match, viewer: str | None = None, hand: int | None = None
) -> list[dict[str, Any]]:
    """The board after each ply (index 0 is the start), rebuilt by replaying the stored moves (of hand
    `hand` of a poker match of many hands; None: the last), as `viewer` may see it. A finished poker
    hand's replay shows the cards its end showed (a showdown: both) at every ply; a folded hand only
    with ARENA_POKER_REPLAY_SHOWS_FOLDED. A hand still being played shows no more than the table does."""
    seed, moves, _ = match.hand(hand)
    reveal: frozenset[str] = frozenset()
    if match.game.name in GAMES and GAMES[match.game.name].hidden_information and not match.is_live:
        with MatchState(match.game.name, seed=seed, moves=moves) as final:
            if final.done:
                reveal = revealed_at_end(
                    final.env.unwrapped, show_folded=settings.ARENA_POKER_REPLAY_SHOWS_FOLDED
                )
    state = MatchState(match.game.name, seed=seed)
    states = [state.state_json(viewer, reveal)]
    for action in moves:
        state.apply(action)
        states.append(state.state_json(viewer, reveal))
    state.close()
    return states


# ------------------------------------------------------------------------------------------ ratings


def _interval(value: list[float] | None) -> dict[str, float] | None:
    return {"elo": value[0], "low": value[1], "high": value[2]} if value else None


def _provisional(rating: Rating | None) -> dict[str, float] | None:
    """The online OpenSkill number, on the same scale but provisional (it lags and is not the fit)."""
    if rating is None:
        return None
    return {"elo": display_elo(rating.mu), "sigma": display_sigma(rating.sigma), "games": rating.games}


def leaderboard_rows(game: Game, fit: RatingFit, limit: int = 200) -> list[dict[str, Any]]:
    """The fit's players, strongest first: Elo with its 95% interval, anchors marked, the provisional
    rating beside it."""
    ids = sorted(fit.ratings, key=lambda p: -fit.ratings[p][0])[:limit]
    players = Player.objects.select_related("checkpoint__agent", "user").in_bulk([int(p) for p in ids])
    provisional = {
        r.player_id: r for r in Rating.objects.filter(pool=game.name, player_id__in=[int(p) for p in ids])
    }
    pins = anchor_elo(game.name)
    rows = []
    for pid in ids:
        player = players.get(int(pid))
        if player is None:
            continue
        elo, low, high, games = fit.ratings[pid]
        rows.append(
            {
                "player": player,
                "elo": elo,
                "low": low,
                "high": high,
                "games": int(games),
                "anchor": player.kind == Player.BOT and player.bot in pins,
                "provisional": _provisional(provisional.get(player.pk)),
            }
        )
    return rows


def player_json(player: Player) -> dict[str, Any]:
    checkpoint = player.checkpoint if player.kind == Player.CHECKPOINT else None
    return {
        "id": player.pk,
        "kind": player.kind,
        "label": player.label,
        "checkpoint": checkpoint.pk if checkpoint else None,
        "agent": checkpoint.agent_id if checkpoint else None,
    }


def _fit_json(fit: RatingFit) -> dict[str, Any]:
    return {
        "games": fit.games,
        "level": 0.95,
        "seat_advantage": _interval(fit.seat_advantage),
        "draw_elo": _interval(fit.draw_elo),
        "error": fit.error or None,
        "updated_at": fit.updated_at.isoformat() if fit.updated_at else None,
    }


def leaderboard_json(game: Game, limit: int = 200) -> dict[str, Any]:
    """A game's leaderboard for the API: Elo with 95% intervals (random = 0), the anchors' pins, the
    seat advantage and draw parameter of the pool's fit."""
    fit = rating_fit_get(pool=game.name)
    rows = [
        {
            **player_json(row["player"]),
            "elo": row["elo"],
            "low": row["low"],
            "high": row["high"],
            "games": row["games"],
            "anchor": row["anchor"],
            "provisional": row["provisional"],
        }
        for row in leaderboard_rows(game, fit, limit)
    ]
    return {
        "game": game.name,
        "scale": "elo",
        "anchors": anchor_elo(game.name),
        **_fit_json(fit),
        "players": rows,
    }


def checkpoint_rating_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint's Elo with its 95% interval in its game's pool (None before it has rated games),
    its provisional rating, and its history (one point per refit after it played)."""
    game = checkpoint.agent.game
    fit = rating_fit_get(pool=game.name)
    player = Player.objects.filter(kind=Player.CHECKPOINT, checkpoint=checkpoint, search=0).first()
    value = fit.ratings.get(str(player.pk)) if player else None
    rating = Rating.objects.filter(player=player, pool=game.name).first() if player else None
    history = (
        RatingFitPoint.objects.filter(player=player, fit=fit) if player else RatingFitPoint.objects.none()
    )
    return {
        "checkpoint": checkpoint.pk,
        "game": game.name,
        "rating": {**_interval(value), "games": int(value[3])} if value else None,
        "provisional": _provisional(rating),
        "seat_advantage": _interval(fit.seat_advantage),
        "history": [
            {"games": p.games, "elo": p.elo, "low": p.low, "high": p.high, "at": p.created_at.isoformat()}
            for p in history.order_by("id")
        ],
    }


def agent_rating_history(agent: Agent) -> dict[str, list[dict[str, Any]]]:
    """Per seat, each checkpoint's Elo over versions: its latest stored fit point (from the DB, not
    refitted here), oldest version first."""
    points = (
        RatingFitPoint.objects.filter(
            player__checkpoint__agent=agent, player__search=0, fit__pool=agent.game.name
        )
        .select_related("player__checkpoint")
        .order_by("player__checkpoint__seat", "player__checkpoint__version", "id")
    )
    latest: dict[int, RatingFitPoint] = {}
    for point in points:
        latest[point.player.checkpoint_id] = point  # the newest point per checkpoint wins
    series: dict[str, list[dict[str, Any]]] = {}
    for point in latest.values():
        checkpoint = point.player.checkpoint
        series.setdefault(checkpoint.seat or "all", []).append(
            {
                "version": checkpoint.version,
                "env_steps": checkpoint.env_steps,
                "elo": point.elo,
                "low": point.low,
                "high": point.high,
                "games": point.games,
            }
        )
    for rows in series.values():
        rows.sort(key=lambda r: r["version"])
    return series


def checkpoints_elo(checkpoints: list[Checkpoint]) -> dict[int, dict[str, float]]:
    """Each checkpoint's Elo with its 95% interval from its pool's fit, keyed by checkpoint id."""
    players = Player.objects.filter(
        kind=Player.CHECKPOINT, checkpoint__in=checkpoints, search=0
    ).select_related("game")
    fits = {pool: rating_fit_get(pool=pool) for pool in {p.game.name for p in players}}
    elo = {}
    for player in players:
        value = fits[player.game.name].ratings.get(str(player.pk))
        if value:
            elo[player.checkpoint_id] = _interval(value)
    return elo


def agent_rating_chart(agent: Agent) -> dict[str, list[list[float]]]:
    """The agent page's chart: per seat, Elo by checkpoint version (`agent_rating_history`)."""
    return {
        f"Elo ({seat})": [[row["version"], round(row["elo"], 1)] for row in rows]
        for seat, rows in agent_rating_history(agent).items()
    }


def player_rating(player: Player, pool: str) -> dict[str, Any]:
    """A player's rating in `pool` as the play page says it, in whole Elo: `fit`, its Elo with the 95%
    interval in the pool's fit (None before it is in the fit), and `provisional`, the online number
    with ± two sigma after `games` games (None before its first). The page renders it, and the
    `finished` event of a person's game carries it, so the page shows the new one without a reload."""
    fit = _interval(rating_fit_get(pool=pool).ratings.get(str(player.pk)))
    rating = Rating.objects.filter(player=player, pool=pool).first()
    provisional = None
    if rating is not None:
        spread = 2 * display_sigma(rating.sigma)
        provisional = {"elo": round(display_elo(rating.mu)), "spread": round(spread), "games": rating.games}
    return {
        "fit": {key: round(value) for key, value in fit.items()} if fit else None,
        "provisional": provisional,
    }
