"""The demo that `make run` seeds: a tic-tac-toe agent training and live matches to watch at once."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from arena.models import Agent, Match, TrainingRun
from arena.services.agents import agent_create
from arena.services.matches import match_create

logger = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_AGENT = "demo-dqn"
DEMO_TRAIN_STEPS = 30_000
DEMO_MOVE_DELAY = 0.7


def demo_seed() -> Agent:
    """Create the demo user and agent and queue its first training run. Idempotent."""
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=DEMO_USER)
        if created:
            user.set_unusable_password()
            user.save()
        agent = Agent.objects.filter(owner=user, name=DEMO_AGENT).first()
        if agent is None:
            agent = agent_create(
                owner=user,
                game="tictactoe",
                name=DEMO_AGENT,
                algorithm="dqn",
                description="Learns both seats of tic-tac-toe against random and itself.",
            )
        if not agent.training_runs.exists():
            from arena.services.training import training_run_create

            training_run_create(user=user, agent_id=agent.pk, config={"env_steps": DEMO_TRAIN_STEPS})
    demo_match_tick()
    return agent


def demo_match_tick() -> Match | None:
    """Start a demo match unless one is live: the demo agent's newest checkpoint (else a bot) vs a bot."""
    agent = Agent.objects.filter(owner__username=DEMO_USER, name=DEMO_AGENT).select_related("game").first()
    if (
        agent is None
        or Match.objects.filter(status__in=(Match.PENDING, Match.RUNNING), created_by=agent.owner).exists()
    ):
        return None
    seats = list(agent.game.seats)
    count = Match.objects.filter(created_by=agent.owner).count()
    latest = {c.seat: c for c in agent.latest_checkpoints()}
    ours = seats[count % 2]  # alternate seats so both of its policies are seen
    opponent = "bot:minimax" if count % 3 == 2 else "bot:random"
    spec = {s: opponent for s in seats}
    spec[ours] = f"checkpoint:{latest[ours].pk}" if ours in latest else "bot:random"
    return match_create(
        user=agent.owner, game=agent.game.name, seats=spec, move_delay=DEMO_MOVE_DELAY, rated=ours in latest
    )


def demo_has_training() -> bool:
    return TrainingRun.objects.filter(
        agent__owner__username=DEMO_USER, status__in=TrainingRun.ACTIVE
    ).exists()
