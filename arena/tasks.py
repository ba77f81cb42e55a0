"""Celery tasks: thin wrappers that pass ids to a service. Services send them by name (`arena.dispatch`)."""

from __future__ import annotations

import os

from celery import shared_task
from django.conf import settings

from arena.services import (
    calibration,
    checkpoints,
    demo,
    exploitability,
    leagues,
    match_batches,
    matches,
    play_events,
    play_forfeits,
    ratings,
    strength,
    tournaments,
    training,
)


def _worker(request) -> str:
    """Who holds a lease: host, process and delivery, so a redelivered copy is told apart."""
    return f"{request.hostname}:{os.getpid()}:{request.id}"


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ARENA_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.ARENA_TRAINING_SOFT_TIME_LIMIT + 300,
)
def train_run(self, run_id: int) -> str | None:
    return training.training_run_execute(run_id=run_id, worker=_worker(self.request))


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def play_match(match_id: int) -> str | None:
    return matches.match_play(match_id=match_id)


@shared_task
def reap_stuck_runs() -> dict[str, int]:
    return training.training_runs_reap()


@shared_task
def demo_tick() -> int | None:
    match = demo.demo_tick() if settings.ARENA_DEMO else None
    return match.pk if match else None


@shared_task
def expire_abandoned_games() -> int:
    return play_forfeits.human_games_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def tournament_play_batch(match_ids: list[int]) -> dict[str, int]:
    return match_batches.matches_play_batch(match_ids=match_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tournament_advance(tournament_id: int) -> int | None:
    advanced = tournaments.tournament_advance(tournament_id=tournament_id)
    return advanced.number if advanced else None


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    queue="training",
    soft_time_limit=settings.ARENA_TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.ARENA_TRAINING_SOFT_TIME_LIMIT + 300,
)
def league_tick(self, league_id: int, force: bool = False) -> int | None:
    return leagues.league_tick(league_id=league_id, worker=_worker(self.request), force=force)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def human_game_rate(match_id: int) -> None:
    play_events.human_game_rate(match_id=match_id)


@shared_task
def reap_stuck_matches() -> int:
    return matches.matches_reap()


@shared_task
def clean_checkpoint_orphans() -> dict[str, int]:
    return checkpoints.checkpoint_orphans_clean()


# Evaluation queue (settings.CELERY_TASK_ROUTES): games nobody watches, behind the ones people do.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3700)
def checkpoint_calibrate(checkpoint_id: int) -> str:
    return calibration.checkpoint_calibrate(checkpoint_id=checkpoint_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3700)
def checkpoint_strength(checkpoint_id: int) -> dict:
    return strength.checkpoint_strength(checkpoint_id=checkpoint_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3700)
def checkpoint_exploitability(checkpoint_id: int) -> dict:
    return exploitability.checkpoint_exploitability(checkpoint_id=checkpoint_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3700)
def league_gate(gate_id: int) -> str:
    return leagues.league_gate_run(gate_id=gate_id)


@shared_task(soft_time_limit=1800, time_limit=1900)
def rating_fit_refresh(pool: str) -> int:
    return ratings.rating_fit_refresh(pool=pool).games
