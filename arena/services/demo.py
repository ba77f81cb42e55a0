"""The demo that `make run` seeds: two tic-tac-toe agents (DQN and PPO) training and playing live.

Beat calls `demo_tick` every few seconds. It keeps one demo training run going at a time (so one worker
slot stays free for matches) and one live demo match on the dashboard: the two agents' newest
checkpoints against each other once both have some, against the reference bots before that.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from arena.models import Agent, Match, TrainingRun
from arena.services.agents import agent_create
from arena.services.matches import match_create
from arena.services.training import training_run_create

logger = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_AGENTS = [
    ("demo-dqn", "dqn", "Learns both seats of tic-tac-toe with DQN, by self-play."),
    ("demo-ppo", "ppo", "Learns both seats of tic-tac-toe with PPO, by self-play."),
]
DEMO_TRAIN_STEPS = 30_000
DEMO_MOVE_DELAY = 0.7


def demo_seed() -> list[Agent]:
    """Create the demo user and agents, start the first training run and a first match. Idempotent."""
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=DEMO_USER)
        if created:
            user.set_unusable_password()
            user.save()
        agents = []
        for name, algorithm, description in DEMO_AGENTS:
            agent = Agent.objects.filter(owner=user, name=name).first()
            if agent is None:
                agent = agent_create(
                    owner=user, game="tictactoe", name=name, algorithm=algorithm, description=description
                )
            agents.append(agent)
    demo_tick()
    return agents


def _demo_agents() -> list[Agent]:
    names = [name for name, _, _ in DEMO_AGENTS]
    agents = {a.name: a for a in Agent.objects.filter(owner__username=DEMO_USER, name__in=names)}
    return [agents[name] for name in names if name in agents]


def demo_tick() -> Match | None:
    """Keep one demo training run and one live demo match going."""
    agents = _demo_agents()
    if not agents:
        return None
    _keep_training(agents)
    return _keep_playing(agents)


def _keep_training(agents: list[Agent]) -> None:
    """One run at a time, each agent trained once: the agents take turns, then the demo just plays."""
    owner = agents[0].owner
    if TrainingRun.objects.filter(agent__owner=owner, status__in=TrainingRun.ACTIVE).exists():
        return
    untrained = next((agent for agent in agents if not agent.training_runs.exists()), None)
    if untrained is not None:
        # Both seats learn at once (self-play); progress is measured against the random bot.
        config = {"env_steps": DEMO_TRAIN_STEPS, "steps_per_epoch": 2_000, "eval_games": 20}
        training_run_create(user=owner, agent_id=untrained.pk, config=config)


def _keep_playing(agents: list[Agent]) -> Match | None:
    owner = agents[0].owner
    if Match.objects.filter(status__in=(Match.PENDING, Match.RUNNING), created_by=owner).exists():
        return None
    game = agents[0].game
    seats = list(game.seats)
    count = Match.objects.filter(created_by=owner).count()
    latest = [{c.seat: c for c in agent.latest_checkpoints()} for agent in agents]
    ready = [checkpoints for checkpoints in latest if len(checkpoints) == len(seats)]
    flip = count % 2  # alternate seats so every policy is seen
    if len(ready) >= 2 and count % 3 != 2:
        first, second = ready[flip], ready[1 - flip]
        spec = {seats[0]: f"checkpoint:{first[seats[0]].pk}", seats[1]: f"checkpoint:{second[seats[1]].pk}"}
    else:
        ours = seats[flip]
        opponent = "bot:minimax" if count % 3 == 2 else "bot:random"
        spec = {s: opponent for s in seats}
        if ready:
            spec[ours] = f"checkpoint:{ready[count % len(ready)][ours].pk}"
        elif opponent == "bot:minimax":
            spec[ours] = "bot:random"
    return match_create(user=owner, game=game.name, seats=spec, move_delay=DEMO_MOVE_DELAY, rated=bool(ready))
