"""The JSON API: reads are public, writes need auth and ownership, bad input gets a 4xx with a message."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from arena.models import Agent, ApiToken, Match, TrainingRun

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


@pytest.fixture
def token(user) -> str:
    return ApiToken.issue(user=user)[1]


def test_anonymous_writes_are_refused(client):
    response = post(client, "/api/agents", {"game": "tictactoe", "name": "x"})
    assert response.status_code == 401
    assert "sign in" in response.json()["error"]
    assert not Agent.objects.exists()


def test_token_holder_creates_an_agent(client, token):
    response = post(
        client,
        "/api/agents",
        {"game": "tictactoe", "name": "x", "algorithm": "ppo"},
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["algorithm"] == "ppo"


def test_a_wrong_token_is_refused(client):
    response = post(
        client, "/api/agents", {"game": "tictactoe", "name": "x"}, HTTP_AUTHORIZATION="Token nope"
    )
    assert response.status_code == 401


def test_session_writes_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = post(client, "/api/agents", {"game": "tictactoe", "name": "x"})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    client.get("/accounts/login/")  # a page with a form sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    response = post(client, "/api/agents", {"game": "tictactoe", "name": "x"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"name": "x"}, "game: Field required"),
        ({"game": "chess960", "name": "x"}, "game: Input should be 'tictactoe', 'connect_four'"),
        ({"game": "tictactoe", "name": 5}, "name: Input should be a valid string"),
        ({"game": "tictactoe", "name": "x", "algorithm": "sarsa"}, "algorithm: Input should be"),
        ({"game": "tictactoe", "name": "x", "seat": "player_9"}, "seat: Input should be"),
        ({"game": "tictactoe", "name": "x", "seat": "player_0"}, "not a seat of tictactoe"),
        ({"game": "tictactoe", "name": "x", "network": {"kind": "mlp", "hidden": [-3]}}, ""),
        ({"game": "tictactoe", "name": "x" * 81}, "at most 80 characters"),
        ({"game": "tictactoe", "name": "x", "owner": "bob"}, "owner: Extra inputs are not permitted"),
    ],
)
def test_bad_agent_input_gets_a_clear_400(user_client, body, message):
    response = post(user_client, "/api/agents", body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Agent.objects.exists()


def test_only_the_owner_deletes_an_agent(client, agent, other_user):
    client.force_login(other_user)
    assert client.delete(f"/api/agents/{agent.pk}").status_code == 403
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_owner_deletes_an_agent(user_client, agent):
    assert user_client.delete(f"/api/agents/{agent.pk}").status_code == 200
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_run_requests_are_validated(user_client, agent):
    assert post(user_client, "/api/runs", {"agent": "1"}).status_code == 400
    assert post(user_client, "/api/runs", {"agent": 99999}).status_code == 404
    response = post(user_client, "/api/runs", {"agent": agent.pk, "config": {"env_steps": -1}})
    assert response.status_code == 400 and "env_steps" in response.json()["error"]
    assert not TrainingRun.objects.exists()


def test_another_users_agent_cannot_be_trained(client, agent, other_user):
    client.force_login(other_user)
    response = post(client, "/api/runs", {"agent": agent.pk, "config": {"env_steps": 100}})
    assert response.status_code == 403
    assert not TrainingRun.objects.exists()


def test_match_requests_are_validated(user_client):
    response = post(user_client, "/api/matches", {"game": "tictactoe", "seats": {"player_1": "bot:random"}})
    assert response.status_code == 400 and "seats" in response.json()["error"]
    both = {"player_1": "bot:random", "player_2": "bot:random"}
    for bad in ({"move_delay": 99}, {"seed": -1}, {"seats": {**both, "player_9": "bot:random"}}):
        response = post(user_client, "/api/matches", {"game": "tictactoe", "seats": both, **bad})
        assert response.status_code == 400, (bad, response.content)
    assert not Match.objects.exists()


def test_unknown_resources_get_404_json(client):
    for url in ("/api/agents/123", "/api/runs/5", "/api/matches/7", "/api/ratings/nogame"):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["error"] == "not found"


def test_wrong_method_gets_405_with_allow(client):
    response = client.put("/api/games")
    assert response.status_code == 405 and response["Allow"] == "GET"
    assert set(client.patch("/api/agents").headers["Allow"].split(", ")) == {"GET", "POST"}
