"""Every per-user limit holds on every door: network sizes are counted before anything is built."""

from __future__ import annotations

import time

import psutil
import pytest
from django.core.exceptions import ValidationError

from arena.models import Agent
from arena.services.agents import agent_create

pytestmark = pytest.mark.django_db


def test_an_oversized_network_is_refused_before_it_is_built(user):
    process = psutil.Process()
    before, started = process.memory_info().rss, time.perf_counter()
    with pytest.raises(ValidationError, match="weights; the limit is"):
        agent_create(
            owner=user, game="connect_four", name="huge", network={"kind": "mlp", "hidden": [4096] * 8}
        )
    assert time.perf_counter() - started < 2.0
    assert process.memory_info().rss - before < 50 * 1024 * 1024
    assert not Agent.objects.exists()


def test_a_network_within_the_limit_is_accepted(user, settings):
    settings.ARENA_MAX_NETWORK_PARAMETERS = 30_000
    agent_create(owner=user, game="connect_four", name="fits", network={"kind": "mlp", "hidden": [128, 128]})
    with pytest.raises(ValidationError):
        agent_create(
            owner=user, game="connect_four", name="too big", network={"kind": "mlp", "hidden": [512]}
        )
