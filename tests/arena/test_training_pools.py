"""Training settings name no server paths: pools name checkpoints and bots by id, a path is refused
without a word about the disk, and no stored config or API answer carries a server path."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import TrainingRun
from arena.serializers import run_json
from arena.services.training import training_run_create
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db

LEARN_FIRST = {"env_steps": 1000, "opponent": "pool"}


@pytest.fixture
def learner(user):
    return AgentFactory(owner=user, seat="player_1")


@pytest.mark.parametrize(
    "member",
    [
        "/etc/shadow",
        "/etc/passwd",
        "/etc/hostname.json",
        "../../etc/shadow",
        "/nonexistent/x",
        "media/agents/1",
    ],
)
def test_a_path_in_a_pool_is_refused_without_saying_what_is_on_the_disk(user, learner, member):
    with pytest.raises(ValidationError) as refused:
        training_run_create(user=user, agent_id=learner.pk, config={**LEARN_FIRST, "pool": [member]})
    message = " ".join(refused.value.messages)
    assert message == "pool members are written bot:<name> or checkpoint:<id>"
    assert not TrainingRun.objects.exists()


def test_a_pool_names_checkpoints_by_id_and_the_run_shows_no_server_path(user, learner):
    opponent = CheckpointFactory(agent=AgentFactory(owner=user, seat="player_2"))
    run = training_run_create(
        user=user,
        agent_id=learner.pk,
        config={**LEARN_FIRST, "pool": [f"checkpoint:{opponent.pk}", "bot:minimax"]},
    )
    assert run.config["pool"] == [f"checkpoint:{opponent.pk}", "bot:minimax"]
    shown = json.dumps(run_json(run, detail=True))
    assert str(settings.MEDIA_ROOT) not in shown and "/agents/" not in shown


def test_an_unknown_or_foreign_checkpoint_id_is_refused(user, learner):
    foreign = CheckpointFactory(agent=AgentFactory(owner=user, game="connect_four"))
    for spec in ("checkpoint:999999", f"checkpoint:{foreign.pk}"):
        with pytest.raises(ValidationError, match="no tictactoe checkpoint has that id"):
            training_run_create(user=user, agent_id=learner.pk, config={**LEARN_FIRST, "pool": [spec]})
