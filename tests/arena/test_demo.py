"""The demo `make run` seeds: two agents taking turns to train, and always one live match."""

from __future__ import annotations

import pytest

from arena.models import Agent, Match, TrainingRun
from arena.services.demo import demo_seed, demo_tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_seeding_twice_creates_two_agents_one_run_and_one_live_match():
    demo_seed()
    demo_seed()
    assert sorted(Agent.objects.values_list("algorithm", flat=True)) == ["dqn", "ppo"]
    assert TrainingRun.objects.count() == 1
    assert Match.objects.filter(status=Match.PENDING).count() == 1


def test_the_agents_train_one_after_the_other_and_a_new_match_follows_a_finished_one():
    demo_seed()
    first = TrainingRun.objects.get()
    first.status = TrainingRun.COMPLETED
    first.save()
    Match.objects.update(status=Match.FINISHED)
    demo_tick()
    runs = TrainingRun.objects.order_by("pk")
    assert runs.count() == 2 and runs[0].agent_id != runs[1].agent_id
    assert Match.objects.filter(status=Match.PENDING).count() == 1
