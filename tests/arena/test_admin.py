"""The admin: every arena model it registers lists and opens for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import CheckpointFactory, LeagueFactory, UserFactory, match_finished

pytestmark = pytest.mark.django_db


def test_every_registered_model_lists_and_opens(client, user):
    CheckpointFactory(agent__owner=user)
    LeagueFactory(user=user)
    match_finished()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    models = [m for m in admin.site._registry if m._meta.app_label == "arena"]
    assert {m.__name__ for m in models} == {
        *("Game", "Agent", "Checkpoint", "Player", "TrainingRun", "Match", "Rating", "RatingEvent"),
        *("Tournament", "TournamentRound", "League", "LeagueTick", "LeagueSnapshot"),
    }
    for model in models:
        meta = model._meta
        listing = client.get(reverse(f"admin:arena_{meta.model_name}_changelist"))
        assert listing.status_code == 200, meta.model_name
        row = model.objects.first()
        if row is not None:
            page = client.get(reverse(f"admin:arena_{meta.model_name}_change", args=[row.pk]))
            assert page.status_code == 200, meta.model_name
