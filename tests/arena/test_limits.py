"""Every per-user limit holds on every door: network sizes are counted before anything is built, leagues
count as training and are capped like runs, tournaments are capped in matches."""

from __future__ import annotations

import time

import psutil
import pytest
from django.core.exceptions import ValidationError

from arena.models import Agent, League, Tournament
from arena.services.agents import agent_create
from arena.services.leagues import league_update
from arena.services.tournaments import tournament_create
from arena.services.training import training_run_create
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_an_oversized_network_is_refused_before_it_is_built(user):
    import marl.nets  # noqa: F401  torch's own import is not what this measures

    process = psutil.Process()
    before, started = process.memory_info().rss, time.perf_counter()
    with pytest.raises(ValidationError, match="weights; the limit is"):
        agent_create(
            owner=user, game="connect_four", name="huge", network={"kind": "mlp", "hidden": [4096] * 8}
        )
    assert time.perf_counter() - started < 1.0  # building 117 M weights takes seconds
    assert process.memory_info().rss - before < 50 * 1024 * 1024
    assert not Agent.objects.exists()


def test_a_network_within_the_limit_is_accepted(user, settings):
    settings.ARENA_MAX_NETWORK_PARAMETERS = 30_000
    agent_create(owner=user, game="connect_four", name="fits", network={"kind": "mlp", "hidden": [128, 128]})
    with pytest.raises(ValidationError):
        agent_create(
            owner=user, game="connect_four", name="too big", network={"kind": "mlp", "hidden": [512]}
        )


def _league(user, **fields):
    from arena.services.leagues import league_create

    agent = AgentFactory(owner=user, seat="player_1")
    return league_create(user=user, game="tictactoe", name=f"l-{agent.pk}", members=[agent.pk], **fields)


def test_leagues_count_in_the_per_user_training_limit(user, settings):
    settings.ARENA_MAX_RUNS_PER_USER = 2
    first = _league(user)
    training_run_create(user=user, agent_id=AgentFactory(owner=user).pk, config={"env_steps": 1000})
    with pytest.raises(ValidationError, match="active leagues"):
        _league(user)
    paused = _league(user, status=League.PAUSED)  # a paused league trains nothing
    with pytest.raises(ValidationError, match="active leagues"):
        league_update(user=user, league_id=paused.pk, status=League.ACTIVE)
    league_update(user=user, league_id=first.pk, status=League.PAUSED)
    league_update(user=user, league_id=paused.pk, status=League.ACTIVE)
    with pytest.raises(ValidationError, match="active leagues"):
        training_run_create(user=user, agent_id=AgentFactory(owner=user).pk, config={"env_steps": 1000})


def test_a_league_is_capped_in_steps_per_tick_and_tick_frequency_like_runs(user, settings):
    settings.ARENA_MAX_TRAIN_STEPS = 50_000
    with pytest.raises(ValidationError, match="env_steps_per_tick"):
        _league(user, env_steps_per_tick=10_000_000)
    with pytest.raises(ValidationError, match="interval_seconds"):
        _league(user, interval_seconds=10)
    assert not League.objects.exists()
    assert _league(user, env_steps_per_tick=50_000, interval_seconds=60).env_steps_per_tick == 50_000


def test_a_tournament_is_capped_in_matches(user, settings):
    settings.ARENA_MAX_TOURNAMENT_MATCHES = 100
    bots = ["bot:random", "bot:minimax", "bot:mcts:10", "bot:mcts:20"]
    with pytest.raises(ValidationError, match="would play 600 matches"):
        tournament_create(
            user=user, game="tictactoe", format="round_robin", participants=bots, games_per_pair=100
        )
    assert not Tournament.objects.exists()
    tournament_create(
        user=user, game="tictactoe", format="round_robin", participants=bots, games_per_pair=16, start=False
    )
