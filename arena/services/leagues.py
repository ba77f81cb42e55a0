"""Leagues: agents that train every tick against PFSP-sampled snapshots of the league, then get evaluated.

A tick, for each member and each seat it learns:
1. train `env_steps_per_tick` (split over its seats) against the pool: the active snapshots that sit in
   the other seat (its own older ones and the other members'), plus the reference bots if
   `pool_bots`; the pool is sampled with PFSP weights from the stored win rates of the member's
   latest snapshot (`marl.train`'s `opponent="pool"`, `pool_weights`). Training is an ordinary
   `TrainingRun` executed in this task, so checkpoints are recorded by `checkpoint_record`.
2. snapshot the new checkpoint into the pool (the `pool_size` newest per member and seat stay active);
3. evaluate it with batched `play_matches` against the pool and every reference bot, store one
   `LeagueResult` summary per opponent (not a Match per game) and rate the games (bots are anchors);
4. publish the tick's results to `league-<id>`.

Ticks never overlap: a tick claims the league's lease row with one conditional UPDATE (free or expired
lease) that also bumps `tick_count`, so each tick number is claimed once; a heartbeat renews the lease
while the tick runs. A scheduled tick also needs half an interval since the last one, so a late or
duplicate beat message does not run a missed tick twice.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from arena import live
from arena.models import (
    Agent,
    League,
    LeagueMember,
    LeagueResult,
    LeagueSnapshot,
    LeagueTick,
    Player,
    TrainingRun,
)
from arena.models.agents import newest_per_seat
from arena.services.anchors import anchor_bots, anchors_pin, display_elo, display_sigma
from arena.services.games import game_get
from arena.services.leases import lease_claim, lease_kept, lease_release
from arena.services.players import player_agent, player_for_bot, player_for_checkpoint
from arena.services.ratings import RatedGame, ratings_record, score_of
from arena.services.training import training_run_execute
from marl.errors import MarlError
from marl.match import play_matches
from marl.pairing import pfsp_weights

logger = logging.getLogger(__name__)

# The league decides these; the rest of TrainConfig may be set in `train_overrides`.
FORBIDDEN_OVERRIDES = {
    "game",
    "algorithm",
    "network",
    "learn_seats",
    "opponent",
    "pool",
    "pool_weights",
    "env_steps",
}
DEFAULT_OVERRIDES = {"num_envs": 4, "eval_games": 0}
LIMITS = {
    "interval_seconds": (10, 7 * 86400),
    "env_steps_per_tick": (10, 10_000_000),
    "pool_size": (1, 100),
    "eval_games": (1, 10_000),
}


def _validate(fields: dict[str, Any], game: str) -> dict[str, Any]:
    for name, (lo, hi) in LIMITS.items():
        if name in fields:
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValidationError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
    if "pfsp_mode" in fields and fields["pfsp_mode"] not in dict(League.PFSP_MODES):
        raise ValidationError(f"pfsp_mode must be one of {', '.join(dict(League.PFSP_MODES))}")
    if "pfsp_p" in fields:
        p = fields["pfsp_p"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 100:
            raise ValidationError("pfsp_p must be a number above 0 and at most 100")
    if "status" in fields and fields["status"] not in dict(League.STATUSES):
        raise ValidationError(f"status must be one of {', '.join(dict(League.STATUSES))}")
    overrides = fields.get("train_overrides")
    if overrides is not None:
        if not isinstance(overrides, dict):
            raise ValidationError("train_overrides must be a JSON object")
        bad = FORBIDDEN_OVERRIDES & set(overrides)
        if bad:
            raise ValidationError(
                f"train_overrides cannot set {', '.join(sorted(bad))}: the league decides them"
            )
        from marl.train_config import TrainConfig  # lazy: torch

        try:
            TrainConfig.from_dict({**DEFAULT_OVERRIDES, **overrides, "game": game})
        except MarlError as exc:
            raise ValidationError(f"train_overrides: {exc}") from None
    return fields


def league_create(*, user, game: str, name: str, members: list[int], **fields: Any) -> League:
    """A league of the user's own agents for `game`; schedules its ticks with django-celery-beat."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied("sign in to create a league")
    game_row = game_get(game)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("name must be 1 to 100 characters")
    if League.objects.filter(name=name).exists():
        raise ValidationError(f"there is already a league called {name!r}")
    if not isinstance(members, list | tuple) or not members:
        raise ValidationError("a league needs at least 1 member agent")
    if len(set(members)) != len(members):
        raise ValidationError("a member agent is listed twice")
    agents = {a.pk: a for a in Agent.objects.filter(pk__in=members).select_related("game")}
    for agent_id in members:
        agent = agents.get(agent_id)
        if agent is None:
            raise ValidationError(f"no agent {agent_id!r}")
        if agent.owner_id != user.pk:
            raise PermissionDenied(
                f"agent {agent.name!r} belongs to another user; only its owner can enter it"
            )
        if agent.game_id != game_row.pk:
            raise ValidationError(f"agent {agent.name!r} plays {agent.game.name}, not {game_row.name}")
    _validate(fields, game_row.name)
    anchors_pin(game=game_row)
    with transaction.atomic():
        league = League.objects.create(game=game_row, name=name, owner=user, **fields)
        LeagueMember.objects.bulk_create([LeagueMember(league=league, agent_id=a) for a in members])
        league_schedule_sync(league=league)
    return league


def league_update(*, user, league_id: int, **fields: Any) -> League:
    """Change a league's settings (owner only) and its beat schedule with them."""
    allowed = set(LIMITS) | {"status", "pfsp_mode", "pfsp_p", "pool_bots", "train_overrides"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
    with transaction.atomic():
        league = League.objects.select_for_update().select_related("game").get(pk=league_id)
        if user is None or league.owner_id != user.pk:
            raise PermissionDenied("only the league's owner may change it")
        _validate(fields, league.game.name)
        for key, value in fields.items():
            setattr(league, key, value)
        league.save(update_fields=list(fields))
        league_schedule_sync(league=league)
    return league


def league_schedule_sync(*, league: League):
    """Create or update the league's PeriodicTask (enabled while the league is active)."""
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=league.interval_seconds, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=f"league-{league.pk}",
        defaults={
            "task": "arena.tasks.league_tick",
            "interval": schedule,
            "args": json.dumps([league.pk]),
            "enabled": league.status == League.ACTIVE,
            "queue": "training",
        },
    )
    if league.periodic_task_id != task.pk:
        League.objects.filter(pk=league.pk).update(periodic_task=task)
        league.periodic_task = task
    return task


# -------------------------------------------------------------------------------------------- ticks


def _claim(league_id: int, worker: str, force: bool) -> tuple[League, LeagueTick] | None:
    """Take the league's lease and open the next tick, or None (lease held, paused, or too soon)."""
    now = timezone.now()
    league = League.objects.filter(pk=league_id).first()
    if league is None:
        return None
    rows = League.objects.filter(pk=league_id)
    if not force:
        spacing = now - timedelta(seconds=league.interval_seconds / 2)
        rows = rows.filter(status=League.ACTIVE).filter(
            Q(last_tick_at__isnull=True) | Q(last_tick_at__lte=spacing)
        )
    with transaction.atomic():
        if not lease_claim(
            rows,
            worker=worker,
            alive=Q(lease_until__gte=now),
            lease_until=now + timedelta(seconds=settings.ARENA_LEASE_SECONDS),
            tick_count=F("tick_count") + 1,
            last_tick_at=now,
        ):
            return None
        league = League.objects.select_related("game").get(pk=league_id)
        # A tick whose worker died holds an expired lease and stays "running": it is over.
        LeagueTick.objects.filter(league=league, status=LeagueTick.RUNNING).update(
            status=LeagueTick.FAILED, error="its worker stopped before the tick ended", finished_at=now
        )
        tick = LeagueTick.objects.create(league=league, number=league.tick_count, worker=worker)
    return league, tick


def _renewal() -> dict[str, Any]:
    return {"lease_until": timezone.now() + timedelta(seconds=settings.ARENA_LEASE_SECONDS)}


def league_tick(*, league_id: int, worker: str, force: bool = False) -> int | None:
    """Run one tick (train, snapshot, evaluate, rate, publish). Returns its number, or None when another
    tick holds the lease (or, unless `force`, the league is paused or its last tick was too recent)."""
    claimed = _claim(league_id, worker, force)
    if claimed is None:
        return None
    league, tick = claimed
    _publish(league.pk, "tick_started", tick=tick.number)
    results: dict[str, Any] = {}
    status, error = LeagueTick.DONE, ""
    with lease_kept(League.objects.filter(pk=league.pk), worker=worker, renewal=_renewal):
        try:
            _tick_members(league, tick, worker, results)
        except Exception as exc:
            logger.exception("league %s tick %s failed", league.pk, tick.number)
            status, error = LeagueTick.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        LeagueTick.objects.filter(pk=tick.pk).update(
            status=status, error=error, results=results, finished_at=timezone.now()
        )
        lease_release(League.objects.filter(pk=league.pk), worker=worker, lease_until=None)
    _publish(league.pk, "tick_finished", tick=tick.number, status=status, error=error, results=results)
    return tick.number


def _tick_members(league: League, tick: LeagueTick, worker: str, results: dict[str, Any]) -> None:
    """Train, snapshot and evaluate every member's learning seats; each seat's summary into `results`."""
    for member in league.memberships.select_related("agent__game").order_by("pk"):
        seats = member.agent.learning_seats
        for seat in seats:
            steps = max(1, league.env_steps_per_tick // len(seats))
            checkpoint = _train_member_seat(league, tick, member, seat, steps, worker)
            _snapshot(league, tick, member, checkpoint)
            results[f"{member.pk}:{seat}"] = _evaluate(league, tick, member, checkpoint)


def _pool(league: League, seat: str) -> list[tuple[Player, str]]:
    """Opponents for a learner in `seat`: active snapshots in the other seats, then the bots.

    Each is `(player, what marl.train's pool takes)`: a checkpoint path or a bot name.
    """
    snapshots = (
        LeagueSnapshot.objects.filter(league=league, active=True)
        .exclude(checkpoint__seat=seat)
        .select_related("checkpoint__agent__game")
        .order_by("id")
    )
    pool = [
        (player_for_checkpoint(checkpoint=s.checkpoint), str(s.checkpoint.absolute_path())) for s in snapshots
    ]
    if league.pool_bots or not pool:  # an empty pool (the first tick) trains against the bots
        pool += [(player_for_bot(game=league.game, bot=bot), bot) for bot in anchor_bots(league.game.name)]
    return pool


def _win_rates(player: Player | None, opponents: list[Player]) -> dict[str, float]:
    """The learner's score against each opponent over its stored evaluations; 0.5 when never met."""
    rates = {str(o.pk): 0.5 for o in opponents}
    if player is None:
        return rates
    totals: dict[str, list[int]] = {}
    for r in LeagueResult.objects.filter(player=player, opponent__in=opponents):
        total = totals.setdefault(str(r.opponent_id), [0, 0])
        total[0] += 2 * r.wins + r.draws
        total[1] += 2 * r.games
    rates.update({pk: points / games for pk, (points, games) in totals.items() if games})
    return rates


def _train_member_seat(
    league: League, tick: LeagueTick, member: LeagueMember, seat: str, steps: int, worker: str
):
    """Train one seat of a member for `steps` env steps against the PFSP-weighted pool; its new checkpoint."""
    from marl.train_config import TrainConfig  # lazy: torch

    agent = member.agent
    pool = _pool(league, seat)
    latest = newest_per_seat(agent.checkpoints.filter(seat=seat)).get(seat)
    learner = player_for_checkpoint(checkpoint=latest) if latest else None
    weights = pfsp_weights(_win_rates(learner, [p for p, _ in pool]), mode=league.pfsp_mode, p=league.pfsp_p)
    base = latest.env_steps if latest else 0
    config = TrainConfig.from_dict(
        {
            **DEFAULT_OVERRIDES,
            "steps_per_epoch": steps,
            **league.train_overrides,
            "game": league.game.name,
            "algorithm": agent.algorithm,
            "network": agent.network,
            "learn_seats": [seat],
            "opponent": "pool",
            "pool": [member_ for _, member_ in pool],
            "pool_weights": [weights[str(p.pk)] for p, _ in pool],
            "env_steps": base + steps,
            "seed": (league.pk * 100_003 + tick.number * 101 + member.pk) % 2**32,
        }
    ).to_dict()
    run = TrainingRun.objects.create(
        agent=agent,
        config={**config, "start_from": {seat: latest.pk} if latest else {}},
        env_steps_done=base,
        env_steps_total=base + steps,
    )
    status = training_run_execute(run_id=run.pk, worker=f"{worker}:run-{run.pk}"[:128])
    run.refresh_from_db()
    checkpoint = newest_per_seat(run.checkpoints.filter(seat=seat)).get(seat)
    if status != TrainingRun.COMPLETED or checkpoint is None:
        raise RuntimeError(f"training run {run.pk} of {agent.name} ({seat}) ended {run.status}: {run.error}")
    return checkpoint


def _snapshot(league: League, tick: LeagueTick, member: LeagueMember, checkpoint) -> LeagueSnapshot:
    snapshot, _ = LeagueSnapshot.objects.get_or_create(
        league=league, checkpoint=checkpoint, defaults={"member": member, "tick": tick.number}
    )
    keep = list(
        LeagueSnapshot.objects.filter(member=member, checkpoint__seat=checkpoint.seat, active=True)
        .order_by("-tick", "-id")
        .values_list("pk", flat=True)[: league.pool_size]
    )
    LeagueSnapshot.objects.filter(member=member, checkpoint__seat=checkpoint.seat, active=True).exclude(
        pk__in=keep
    ).update(active=False)
    return snapshot


def _evaluate(league: League, tick: LeagueTick, member: LeagueMember, checkpoint) -> dict[str, Any]:
    """Batched games of the new snapshot against the pool and every reference bot; rate and summarise."""
    seat, seats = checkpoint.seat, list(league.game.seats)
    me = player_for_checkpoint(checkpoint=checkpoint)
    opponents = [p for p, _ in _pool(league, seat) if p.kind != Player.BOT]
    opponents += [player_for_bot(game=league.game, bot=b) for b in anchor_bots(league.game.name)]
    me_agent = player_agent(player=me)
    games: list[RatedGame] = []
    vs: dict[str, list[int]] = {}
    summaries = []
    for i, opponent in enumerate(opponents):
        seed0 = (tick.number * 1_000_003 + member.pk * 10_007 + i * 101) % 2**31
        agents = {s: (me_agent if s == seat else player_agent(player=opponent, seed=seed0)) for s in seats}
        played = play_matches(league.game.name, agents, [seed0 + g for g in range(league.eval_games)])
        wins = sum(r.winner == seat for r in played)
        draws = sum(r.winner is None for r in played)
        losses = len(played) - wins - draws
        summaries.append(
            LeagueResult(
                tick=tick, player=me, opponent=opponent, seat=seat, wins=wins, draws=draws, losses=losses
            )
        )
        vs[opponent.label] = [wins, draws, losses]
        first, second = (me, opponent) if seat == seats[0] else (opponent, me)
        games += [
            RatedGame(first, second, score_of(r.returns[seats[0]], r.returns[seats[1]])) for r in played
        ]
    LeagueResult.objects.bulk_create(summaries)
    ratings = ratings_record(pool=league.game.name, games=games)
    rating = ratings.get(me.pk)
    return {
        "member": member.pk,
        "agent": member.agent.name,
        "seat": seat,
        "checkpoint": checkpoint.pk,
        "label": checkpoint.label,
        "env_steps": checkpoint.env_steps,
        "vs": vs,
        "rating": display_elo(rating.mu) if rating else None,
        "rating_sigma": display_sigma(rating.sigma) if rating else None,
    }


def _publish(league_id: int, kind: str, **data: Any) -> None:
    live.publish(
        live.league_group(league_id), {"type": "league", "event": kind, "league_id": league_id, **data}
    )


def league_history(*, league: League) -> dict[str, Any]:
    """Chart data: rating per member and seat over ticks, and score against each reference bot."""
    ratings: dict[str, list[list[float]]] = {}
    vs_bots: dict[str, list[list[float]]] = {}
    bots = {f"bot:{b}" for b in anchor_bots(league.game.name)}
    for tick in league.ticks.filter(status=LeagueTick.DONE).order_by("number"):
        for row in tick.results.values():
            name = f"{row['agent']} {row['seat']}"
            if row.get("rating") is not None:
                ratings.setdefault(name, []).append([tick.number, round(row["rating"], 1)])
            for opponent, (w, d, lost) in row["vs"].items():
                if opponent in bots and w + d + lost:
                    vs_bots.setdefault(f"{name} vs {opponent[4:]}", []).append(
                        [tick.number, round((w + d / 2) / (w + d + lost), 3)]
                    )
    return {"ratings": ratings, "vs_bots": vs_bots}
