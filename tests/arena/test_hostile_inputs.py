"""No 500 on any input: JSON nested thousands deep, lone surrogates and NULs in settings, nested
sidecars. Each gets a clear message and changes nothing."""

from __future__ import annotations

import pytest

from arena.models import League, TrainingRun
from arena.services.agents import agent_create
from arena.validation import json_loads

pytestmark = pytest.mark.django_db

HOSTILE_JSON = [
    "[" * 5000 + "]" * 5000,
    '{"a": ' * 3000 + "1" + "}" * 3000,
    '{"name": "\\ud800"}',
    '{"name": "a\\u0000b"}',
    '{"\\udfff": 1}',
    "[" * 40 + "]" * 40,
]


@pytest.mark.parametrize(
    "text", HOSTILE_JSON, ids=["array", "object", "surrogate", "nul", "surrogate-key", "deep"]
)
def test_hostile_training_settings_are_refused_with_a_message(user_client, user, text):
    agent = agent_create(owner=user, game="tictactoe", name="target", algorithm="dqn")
    response = user_client.post(f"/agents/{agent.pk}/train/", {"env_steps": 1000, "extra": text}, follow=True)
    assert response.status_code in (200, 400)
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    "text", HOSTILE_JSON, ids=["array", "object", "surrogate", "nul", "surrogate-key", "deep"]
)
def test_hostile_league_overrides_are_refused_with_a_message(user_client, user, text):
    agent = agent_create(owner=user, game="tictactoe", name="member", algorithm="dqn")
    response = user_client.post(
        "/leagues/new/",
        {
            "game": "tictactoe",
            "name": "l",
            "members": [agent.pk],
            "interval_seconds": 600,
            "env_steps_per_tick": 2000,
            "pool_size": 5,
            "pfsp_mode": "hard",
            "pfsp_p": 2.0,
            "eval_games": 20,
            "status": "active",
            "train_overrides": text,
        },
    )
    assert response.status_code in (200, 400)
    assert "train_overrides" in response.context["form"].errors
    assert not League.objects.exists()


def test_json_parsed_for_people_is_bounded_and_storable():
    from django.core.exceptions import ValidationError

    for text in HOSTILE_JSON:
        with pytest.raises(ValidationError):
            json_loads(text, what="body")
    assert json_loads('{"lr": 0.001, "net": {"hidden": [64, 64]}}', what="body") == {
        "lr": 0.001,
        "net": {"hidden": [64, 64]},
    }


def test_a_checkpoint_sidecar_nested_thousands_deep_is_refused_cleanly(tmp_path):
    from marl.checkpoints import read_meta
    from marl.errors import CheckpointError

    (tmp_path / "c.safetensors").write_bytes(b"")
    (tmp_path / "c.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError):
        read_meta(tmp_path / "c.json")
