"""Server-rendered pages: they render, 404 on unknown ids, and guard writes (login, owner, CSRF)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from arena.models import Agent, Checkpoint, Match, TrainingRun, TrainingStat
from arena.services.matches import match_create
from tests.factories import BOTS, CheckpointFactory, TrainingRunFactory, match_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(agent) -> TrainingRun:
    run = TrainingRunFactory(agent=agent)
    TrainingStat.objects.create(run=run, env_steps=500, data={"env_steps": 500, "mean_return": 0.25})
    return run


@pytest.fixture
def checkpoint(agent, run) -> Checkpoint:
    return CheckpointFactory(agent=agent, env_steps=500, metrics={"win_rate": 0.5}, training_run=run)


@pytest.fixture
def finished_match() -> Match:
    return match_finished(seats=BOTS, seed=1)


def test_pages_render(client, agent, run, checkpoint, finished_match):
    pending = match_create(
        user=None,
        game="connect_four",
        seats={"player_0": "bot:random", "player_1": "bot:random"},
        dispatch=False,
    )
    pages = {
        reverse("dashboard"): ["Dashboard", "learner", "Tic-tac-toe"],
        reverse("fragment_runs"): [f"#{run.pk}"],
        reverse("fragment_matches"): [f"#{finished_match.pk}", f"#{pending.pk}"],
        reverse("game_list"): ["Connect Four"],
        reverse("game_detail", args=["tictactoe"]): ["Leaderboard", "bot:minimax"],
        reverse("agent_detail", args=[agent.pk]): ["Checkpoints", "v1", "weights", f"/ws/agents/{agent.pk}/"],
        reverse("run_detail", args=[run.pk]): [f"Run #{run.pk}", f"/ws/runs/{run.pk}/"],
        reverse("match_detail", args=[pending.pk]): ["match-snapshot", f"/ws/matches/{pending.pk}/"],
        reverse("match_detail", args=[finished_match.pk]): ["match-replay", "player_1"],
        reverse("login"): ["Log in"],
        reverse("signup"): ["Sign up"],
    }
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for fragment in expected:
            assert fragment in text, (url, fragment)


def test_finished_match_embeds_one_board_per_ply(client, finished_match):
    response = client.get(reverse("match_replay", args=[finished_match.pk]))
    states = response.json()["states"]
    assert len(states) == len(finished_match.moves) + 1
    assert states[-1]["moves"] == finished_match.moves and states[0]["moves"] == []
    page = client.get(reverse("match_detail", args=[finished_match.pk])).content.decode()
    assert 'id="match-replay"' in page


def test_unknown_ids_are_404(client):
    for url in [
        "/agents/999999/",
        "/runs/999999/",
        "/matches/999999/",
        "/games/nope/",
        "/matches/999999/replay.json",
        "/checkpoints/999999/download/weights/",
    ]:
        assert client.get(url).status_code == 404, url


def test_anonymous_posts_redirect_to_login(client, agent, run):
    for url in [
        reverse("run_create", args=[agent.pk]),
        reverse("run_cancel", args=[run.pk]),
        reverse("agent_create"),
        reverse("match_create"),
        reverse("agent_delete", args=[agent.pk]),
    ]:
        response = client.post(url, {"env_steps": 1000})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    run.refresh_from_db()
    assert run.status == TrainingRun.QUEUED and Agent.objects.filter(pk=agent.pk).exists()


def test_non_owners_get_403(client, other_user, agent, run):
    client.force_login(other_user)
    assert client.post(reverse("run_create", args=[agent.pk]), {"env_steps": 1000}).status_code == 403
    assert client.post(reverse("run_cancel", args=[run.pk])).status_code == 403
    assert client.post(reverse("agent_delete", args=[agent.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == TrainingRun.QUEUED and not run.cancel_requested
    assert TrainingRun.objects.filter(agent=agent).count() == 1
    page = client.get(reverse("agent_detail", args=[agent.pk])).content.decode()
    assert reverse("run_create", args=[agent.pk]) not in page  # no training form for strangers


def test_csrf_is_enforced(user, run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("run_cancel", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == TrainingRun.QUEUED

    client.get(reverse("run_detail", args=[run.pk]))  # sets the CSRF cookie, as a browser would
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("run_cancel", args=[run.pk]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == TrainingRun.CANCELLED


def test_owner_creates_an_agent_and_a_match(user_client, user):
    response = user_client.post(
        reverse("agent_create"), {"game": "tictactoe", "name": "nova", "algorithm": "dqn", "seat": ""}
    )
    agent = Agent.objects.get(owner=user, name="nova")
    assert response.status_code == 302 and response["Location"] == agent.get_absolute_url()

    duplicate = user_client.post(
        reverse("agent_create"), {"game": "tictactoe", "name": "nova", "algorithm": "dqn", "seat": ""}
    )
    assert duplicate.status_code == 200 and "already have an agent" in duplicate.content.decode()

    form = user_client.get(reverse("match_create") + "?game=connect_four").content.decode()
    assert "seat_player_0" in form and "bot:alphabeta" in form
    response = user_client.post(
        reverse("match_create") + "?game=tictactoe",
        {"seat_player_1": "bot:minimax", "seat_player_2": "bot:random", "move_delay": "0.2", "rated": "on"},
    )
    match = Match.objects.get(created_by=user)
    assert response.status_code == 302 and response["Location"] == match.get_absolute_url()
    assert match.move_delay == pytest.approx(0.2) and match.status == Match.PENDING


def test_owner_starts_a_training_run(user_client, agent):
    pytest.importorskip("marl.train")
    response = user_client.post(reverse("run_create", args=[agent.pk]), {"env_steps": 1000})
    run = TrainingRun.objects.get(agent=agent)
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.env_steps_total == 1000 and run.status == TrainingRun.QUEUED

    bad = user_client.post(reverse("run_create", args=[agent.pk]), {"env_steps": 5}, follow=True)
    assert "env_steps" in bad.content.decode() and TrainingRun.objects.filter(agent=agent).count() == 1


def test_signup_logs_the_new_user_in(client, django_user_model):
    password = "a sturdy passphrase 93"
    response = client.post(
        reverse("signup"), {"username": "cleo", "password1": password, "password2": password}
    )
    assert response.status_code == 302
    assert django_user_model.objects.filter(username="cleo").exists()
    assert client.get(reverse("dashboard")).context["user"].username == "cleo"
