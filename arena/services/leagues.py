"""Leagues: agents that train every tick against PFSP-sampled snapshots of the league, then get evaluated.

A tick, for each member:
1. train `env_steps_per_tick`. A member that learns every seat (with `self_play`, the default) or an az
   member trains all its seats in one run by pure self-play (`opponent: "self"`: no pool, no bot). Any
   other member trains each seat it learns (the steps split over them) against the pool: the active
   snapshots that sit in the other seat (its own older ones and the other members'), plus the reference
   bots only if `pool_bots` (off by default: bots are evaluation anchors); the pool is sampled with PFSP
   weights from the stored win rates of the member's latest snapshot (`marl.train`'s `opponent="pool"`,
   `pool_weights`). Training is an ordinary `TrainingRun` executed in this task, so checkpoints are
   recorded by `checkpoint_record`.
2. snapshot the new checkpoints into the pool (the `pool_size` newest per member and seat stay active);
3. evaluate them with batched `play_matches` against the pool and every reference bot (with
   `eval_search`, also with `mcts:N` on top against the bots), store one `LeagueResult` summary per
   opponent (not a Match per game) and rate the games (bots are anchors);
4. publish the tick's results to `league-<id>`;
5. with `gating`, test the member's new snapshot (a checkpoint per seat) against its champion with a
   pentanomial SPRT (`services/league_gates.py`); only an accepted snapshot becomes champion.

Ticks never overlap: a tick claims the league's lease row with one conditional UPDATE (free or expired
lease) that also bumps `tick_count`, so each tick number is claimed once; a heartbeat renews the lease
while the tick runs. A scheduled tick also needs half an interval since the last one, so a late or
duplicate beat message does not run a missed tick twice.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from arena import live
from arena.dispatch import task_send_on_commit
from arena.models import Agent, Checkpoint, Game, League, LeagueGate, LeagueMember, LeagueTick
from arena.services.anchors import anchor_bots, anchors_pin
from arena.services.games import game_get
from arena.services.league_gates import (
    gate_members_check,
    gate_open,
    gate_settings_check,
    league_gate_run,
)
from arena.services.league_members import (
    DEFAULT_OVERRIDES,
    member_evaluate,
    member_evaluate_pairs,
    member_evaluate_search,
    member_self_plays,
    member_snapshot,
    member_train,
)
from arena.services.leases import lease_claim, lease_kept, lease_release
from arena.services.players import search_budget_check
from arena.services.training import training_jobs_check
from marl.errors import MarlError

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


def _limits() -> dict[str, tuple[int, int]]:
    """A league's numbers, bounded like a training run's: steps per tick as a run's steps, ticks no
    more often than `ARENA_LEAGUE_MIN_INTERVAL` (read per call: settings can change in tests)."""
    return {
        "interval_seconds": (settings.ARENA_LEAGUE_MIN_INTERVAL, 7 * 86400),
        "env_steps_per_tick": (10, settings.ARENA_MAX_TRAIN_STEPS),
        "pool_size": (1, 100),
        "eval_games": (1, 1000),
        "gate_max_pairs": (1, 100_000),
        "eval_search": (0, settings.ARENA_MAX_SEARCH_SIMULATIONS),
    }


GATE_FIELDS = {"gating", "gate_elo0", "gate_elo1", "gate_alpha", "gate_beta", "gate_max_pairs"}


def _validate(fields: dict[str, Any], game: str) -> dict[str, Any]:
    _check_limits(fields)
    _check_choices(fields)
    for flag in ("gating", "pool_bots", "self_play"):
        if flag in fields and not isinstance(fields[flag], bool):
            raise ValidationError(f"{flag} must be true or false")
    if fields.get("eval_search"):
        search_budget_check(game=game_get(game), simulations=fields["eval_search"])
    gate_settings_check(fields)
    if fields.get("train_overrides") is not None:
        _check_overrides(fields["train_overrides"], game)
    return fields


def _check_limits(fields: dict[str, Any]) -> None:
    for name, (lo, hi) in _limits().items():
        value = fields.get(name)
        if name in fields and (
            isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi
        ):
            raise ValidationError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")


def _check_choices(fields: dict[str, Any]) -> None:
    if "pfsp_mode" in fields and fields["pfsp_mode"] not in dict(League.PFSP_MODES):
        raise ValidationError(f"pfsp_mode must be one of {', '.join(dict(League.PFSP_MODES))}")
    if "pfsp_p" in fields:
        p = fields["pfsp_p"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 100:
            raise ValidationError("pfsp_p must be a number above 0 and at most 100")
    if "status" in fields and fields["status"] not in dict(League.STATUSES):
        raise ValidationError(f"status must be one of {', '.join(dict(League.STATUSES))}")


def _check_overrides(overrides: Any, game: str) -> None:
    """Training settings a league may change: not what the league decides, and a valid TrainConfig."""
    from marl.train_config import SELF, TrainConfig  # lazy: torch

    if not isinstance(overrides, dict):
        raise ValidationError("train_overrides must be a JSON object")
    bad = FORBIDDEN_OVERRIDES & set(overrides)
    if bad:
        raise ValidationError(f"train_overrides cannot set {', '.join(sorted(bad))}: the league decides them")
    try:
        # Checked as a self-play run: the opponents are the league's to decide (and no bot is built here).
        TrainConfig.from_dict({**DEFAULT_OVERRIDES, **overrides, "game": game, "opponent": SELF})
    except MarlError as exc:
        raise ValidationError(f"train_overrides: {exc}") from None


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
    _check_members(user, game_row, members)
    _validate(fields, game_row.name)
    if fields.get("status", League.ACTIVE) == League.ACTIVE:
        training_jobs_check(user=user)
    if fields.get("gating"):
        gate_members_check(list(Agent.objects.filter(pk__in=members)))
    anchors_pin(game=game_row)
    with transaction.atomic():
        league = League.objects.create(game=game_row, name=name, owner=user, **fields)
        LeagueMember.objects.bulk_create([LeagueMember(league=league, agent_id=a) for a in members])
        league_schedule_sync(league=league)
    return league


def _check_members(user, game: Game, members: Any) -> None:
    """Members are distinct agents the user owns that play `game`."""
    if not isinstance(members, list | tuple) or not members:
        raise ValidationError("a league needs at least 1 member agent")
    if len(set(members)) != len(members):
        raise ValidationError("a member agent is listed twice")
    agents = {a.pk: a for a in Agent.objects.active().filter(pk__in=members).select_related("game")}
    for agent_id in members:
        agent = agents.get(agent_id)
        if agent is None:
            raise ValidationError(f"no agent {agent_id!r}")
        if agent.owner_id != user.pk:
            raise PermissionDenied(
                f"agent {agent.name!r} belongs to another user; only its owner can enter it"
            )
        if agent.game_id != game.pk:
            raise ValidationError(f"agent {agent.name!r} plays {agent.game.name}, not {game.name}")


def league_update(*, user, league_id: int, **fields: Any) -> League:
    """Change a league's settings (owner only) and its beat schedule with them."""
    allowed = (
        set(_limits())
        | GATE_FIELDS
        | {
            "status",
            "pfsp_mode",
            "pfsp_p",
            "pool_bots",
            "self_play",
            "train_overrides",
        }
    )
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
    with transaction.atomic():
        league = League.objects.select_for_update().select_related("game").get(pk=league_id)
        if user is None or league.owner_id != user.pk:
            raise PermissionDenied("only the league's owner may change it")
        _validate({**{f: getattr(league, f) for f in GATE_FIELDS}, **fields}, league.game.name)
        if fields.get("status") == League.ACTIVE and league.status != League.ACTIVE:
            training_jobs_check(user=user)
        if fields.get("gating"):
            gate_members_check([m.agent for m in league.memberships.select_related("agent")])
        for key, value in fields.items():
            setattr(league, key, value)
        league.save(update_fields=list(fields))
        league_schedule_sync(league=league)
    return league


def league_tick_request(*, user, league_id: int) -> League:
    """Queue a tick now, outside the schedule (owner only). A broker outage is logged, not raised:
    the next scheduled tick comes anyway."""
    league = League.objects.get(pk=league_id)
    if user is None or league.owner_id != user.pk:
        raise PermissionDenied("only the league's owner may start a tick")
    task_send_on_commit("arena.tasks.league_tick", league.pk, True)  # forced: runs even if paused or early
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
    rows = League.objects.filter(pk=league_id) if force else _due(league, now)
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
        return league, _tick_open(league, worker, now)


def _due(league: League, now: datetime) -> QuerySet[League]:
    """The league's row while it is active and half an interval has passed since its last tick, so a
    late or duplicate beat message does not run a missed tick twice."""
    spacing = now - timedelta(seconds=league.interval_seconds / 2)
    return League.objects.filter(pk=league.pk, status=League.ACTIVE).filter(
        Q(last_tick_at__isnull=True) | Q(last_tick_at__lte=spacing)
    )


def _tick_open(league: League, worker: str, now: datetime) -> LeagueTick:
    # A tick whose worker died holds an expired lease and stays "running": it is over.
    LeagueTick.objects.filter(league=league, status=LeagueTick.RUNNING).update(
        status=LeagueTick.FAILED, error="its worker stopped before the tick ended", finished_at=now
    )
    return LeagueTick.objects.create(league=league, number=league.tick_count, worker=worker)


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
    """Train, snapshot and evaluate every member's learning seats (each seat's summary into `results`),
    then gate each member's new snapshot when the league gates."""
    for gate in league.gates.filter(status=LeagueGate.RUNNING).order_by("pk"):  # a stopped tick's test
        league_gate_run(gate_id=gate.pk)
    for member in league.memberships.select_related("agent__game").order_by("pk"):
        seats = member.agent.learning_seats
        snapshot: dict[str, Checkpoint] = {}
        if member_self_plays(league, member):  # one run, every seat
            snapshot = member_train(
                league=league,
                tick=tick,
                member=member,
                seats=seats,
                steps=league.env_steps_per_tick,
                worker=worker,
            )
        for seat in [s for s in seats if s not in snapshot]:  # a run per seat, against the pool
            steps = max(1, league.env_steps_per_tick // len(seats))
            snapshot.update(
                member_train(
                    league=league, tick=tick, member=member, seats=[seat], steps=steps, worker=worker
                )
            )
        for checkpoint in snapshot.values():
            member_snapshot(league=league, tick=tick, member=member, checkpoint=checkpoint)
        if set(seats) == set(league.game.seats):  # an agent version: game pairs, seats swapped
            results.update(member_evaluate_pairs(league=league, tick=tick, member=member, snapshot=snapshot))
        else:  # one seat learned: it plays only that seat
            for seat, checkpoint in snapshot.items():
                results[f"{member.pk}:{seat}"] = member_evaluate(
                    league=league, tick=tick, member=member, checkpoint=checkpoint
                )
        if league.eval_search:
            results.update(member_evaluate_search(league=league, tick=tick, member=member, snapshot=snapshot))
        if league.gating:
            _gate(league, tick, member, snapshot)


def _gate(league: League, tick: LeagueTick, member: LeagueMember, snapshot: dict[str, Checkpoint]) -> None:
    """Test the member's new snapshot against its champion (its first snapshot is champion at once);
    the test's rows (`LeagueGate`) are its record."""
    gate = gate_open(league=league, member=member, tick=tick.number, checkpoints=snapshot)
    if gate is None:
        _publish(league.pk, "gate_finished", member=member.pk, tick=tick.number, status="first_champion")
        return
    league_gate_run(gate_id=gate.pk)


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
