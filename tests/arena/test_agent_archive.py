"""Deleting an agent whose checkpoints have played archives it: the history stays, the agent leaves
every list and takes no new game or run. Nobody can make your agent undeletable by playing it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena.models import Agent, Match
from arena.services.agents import agent_delete
from arena.services.matches import match_create
from arena.services.training import training_run_create
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def played(user, other_user):
    """Ada's agent, played once by a stranger against a bot."""
    checkpoint = CheckpointFactory(agent=AgentFactory(owner=user, seat="player_1"))
    match = match_create(
        user=other_user,
        game="tictactoe",
        seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
        seed=1,
        dispatch=False,
    )
    return checkpoint.agent, match


def test_deleting_an_agent_that_has_played_archives_it_and_keeps_the_history(client, user, played):
    agent, match = played
    client.force_login(user)
    response = client.post(f"/agents/{agent.pk}/delete/", follow=True)
    assert response.status_code == 200 and "archived" in response.content.decode()
    agent.refresh_from_db()
    assert agent.archived_at is not None
    assert Match.objects.filter(pk=match.pk).exists()
    assert client.get(f"/matches/{match.pk}/").status_code == 200
    assert agent not in client.get("/").context["agents"]
    assert agent.pk not in [a["id"] for a in client.get("/api/agents").json()]


def test_an_archived_agent_takes_no_new_game_or_run(user, played):
    agent, _ = played
    assert agent_delete(user=user, agent_id=agent.pk) == "archived"
    checkpoint = agent.checkpoints.get()
    with pytest.raises(ValidationError, match="archived"):
        match_create(
            user=user,
            game="tictactoe",
            seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
            seed=2,
            dispatch=False,
        )
    with pytest.raises(ValidationError, match="archived"):
        training_run_create(user=user, agent_id=agent.pk, config={"env_steps": 1000})


def test_an_agent_that_never_played_is_deleted_outright(user):
    agent = CheckpointFactory(agent=AgentFactory(owner=user)).agent
    assert agent_delete(user=user, agent_id=agent.pk) == "deleted"
    assert not Agent.objects.filter(pk=agent.pk).exists()
