"""The leagues API: create with the form's service, list with filters, change settings (pause and resume)
and tick on demand as the league page's owner does; nobody else may, and bad input stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from arena.api.leagues import LeagueSettingsIn
from arena.forms import LeagueForm
from arena.models import ApiToken, League
from arena.serializers import LEAGUE_SETTINGS
from tests.arena._faults import app_on
from tests.factories import TINY_LEAGUE_TRAINING, AgentFactory, LeagueFactory

pytestmark = pytest.mark.django_db


def send(client: Client, method: str, url: str, body=None, **headers):
    call = getattr(client, method)
    return call(url, data=json.dumps(body or {}), content_type="application/json", **headers)


@pytest.fixture
def mine(user):
    return AgentFactory(owner=user, game="tictactoe")


def test_a_token_holder_creates_a_league_of_their_agents_and_its_ticks_are_scheduled(client, user, mine):
    token = ApiToken.issue(user=user)[1]
    body = {
        "game": "tictactoe",
        "name": "api league",
        "members": [mine.pk],
        "interval_seconds": 900,
        "env_steps_per_tick": 64,
        "pfsp_mode": "even",
        "pfsp_p": 1,
        "train_overrides": TINY_LEAGUE_TRAINING,
        "status": "paused",
    }
    response = send(client, "post", "/api/leagues", body, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["members"] == [mine.pk] and created["owner"] == user.username
    assert created["interval_seconds"] == 900 and created["pfsp_mode"] == "even" and created["pfsp_p"] == 1.0
    league = League.objects.get(pk=created["id"])
    assert league.periodic_task.interval.every == 900 and not league.periodic_task.enabled
    assert league.eval_games == 20 and league.pool_size == 5  # what was not sent keeps its default
    assert client.get(f"/api/leagues/{league.pk}").json() == created


def test_the_list_filters_by_game_status_and_owner(client, user, other_user):
    ours = LeagueFactory(user=user)
    theirs = LeagueFactory(user=other_user, status="paused")
    four = LeagueFactory(
        user=user, game="connect_four", members=[AgentFactory(owner=user, game="connect_four").pk]
    )

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/leagues?{query}")
        assert response.status_code == 200, response.content
        return [league["id"] for league in response.json()]

    assert ids("") == [four.pk, theirs.pk, ours.pk] and ids("limit=2&offset=1") == [theirs.pk, ours.pk]
    assert ids("game=connect_four") == [four.pk] and ids("status=paused") == [theirs.pk]
    assert ids(f"owner={other_user.username}") == [theirs.pk]
    assert client.get("/api/leagues?owner=me").status_code == 401
    client.force_login(user)
    assert ids("owner=me") == [four.pk, ours.pk]
    assert client.get("/api/leagues?status=stopped").status_code == 400


@pytest.mark.parametrize(
    "change, message",
    [
        ({"game": "chess960"}, "game: Input should be 'tictactoe'"),
        ({"game": "connect_four"}, "plays tictactoe, not connect_four"),
        ({"members": []}, "at least 1 member agent"),
        ({"members": [99999]}, "no agent 99999"),
        ({"members": ["1"]}, "members.0: Input should be a valid integer"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"interval_seconds": 1}, "interval_seconds must be an integer from"),
        ({"pfsp_mode": "soft"}, "pfsp_mode: Input should be 'hard', 'even' or 'linear'"),
        ({"gate_alpha": 2}, "gating:"),
        ({"eval_search": 801}, "eval_search"),
        ({"train_overrides": {"opponent": "random"}}, "train_overrides cannot set opponent"),
        ({"owner": "bob"}, "owner: Extra inputs are not permitted"),
    ],
)
def test_bad_league_input_gets_a_clear_400(user_client, mine, change, message):
    body = {"game": "tictactoe", "name": "bad", "members": [mine.pk], **change}
    response = send(user_client, "post", "/api/leagues", body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not League.objects.exists()


def test_another_users_agent_cannot_be_entered(client, mine, other_user):
    client.force_login(other_user)
    body = {"game": "tictactoe", "name": "theirs", "members": [mine.pk]}
    response = send(client, "post", "/api/leagues", body)
    assert response.status_code == 403 and "belongs to another user" in response.json()["error"]
    assert send(Client(), "post", "/api/leagues", body).status_code == 401
    assert not League.objects.exists()


def test_the_owner_pauses_resumes_and_retunes_a_league(user_client, user):
    league = LeagueFactory(user=user)
    response = send(user_client, "patch", f"/api/leagues/{league.pk}", {"status": "paused", "pool_size": 3})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paused" and response.json()["pool_size"] == 3
    league.refresh_from_db()
    assert league.pool_size == 3 and not league.periodic_task.enabled
    response = send(user_client, "patch", f"/api/leagues/{league.pk}", {"status": "active"})
    assert response.json()["status"] == "active" and response.json()["pool_size"] == 3
    assert League.objects.get(pk=league.pk).periodic_task.enabled
    for bad, message in (({"eval_games": 0}, "eval_games must be"), ({"name": "x"}, "Extra inputs")):
        response = send(user_client, "patch", f"/api/leagues/{league.pk}", bad)
        assert response.status_code == 400 and message in response.json()["error"]
    assert send(user_client, "patch", "/api/leagues/99999", {"status": "paused"}).status_code == 404


def test_a_stranger_cannot_change_or_tick_someone_elses_league(client, user, other_user):
    league = LeagueFactory(user=user)
    assert send(client, "patch", f"/api/leagues/{league.pk}", {"status": "paused"}).status_code == 401
    client.force_login(other_user)
    response = send(client, "patch", f"/api/leagues/{league.pk}", {"status": "paused"})
    assert response.status_code == 403 and "only the league's owner" in response.json()["error"]
    response = send(client, "post", f"/api/leagues/{league.pk}/tick")
    assert response.status_code == 403 and "only the league's owner" in response.json()["error"]
    assert League.objects.get(pk=league.pk).status == League.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_a_tick_on_demand_is_queued_for_a_worker(user_client, user, private_redis, settings):
    league = LeagueFactory(user=user)
    with app_on(private_redis.url, settings):
        response = send(user_client, "post", f"/api/leagues/{league.pk}/tick")
    assert response.status_code == 202 and response.json() == {"queued": True, "league": league.pk}
    queued = [json.loads(raw)["headers"] for raw in private_redis.client().lrange("training", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("arena.tasks.league_tick", f"({league.pk}, True)")
    ]
    assert send(user_client, "post", "/api/leagues/99999/tick").status_code == 404


def test_the_api_sets_and_reads_back_what_the_settings_form_sets():
    assert set(LeagueSettingsIn.model_fields) == set(LeagueForm.base_fields) == set(LEAGUE_SETTINGS)


def test_the_owner_sets_the_gates_sprt(user_client, user):
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk])
    body = {"gating": True, "gate_elo0": -5, "gate_elo1": 15.5, "gate_alpha": 0.1, "gate_max_pairs": 50}
    response = send(user_client, "patch", f"/api/leagues/{league.pk}", body)
    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in body} == {**body, "gate_elo0": -5.0}
    assert response.json()["gate_beta"] == 0.05
    response = send(user_client, "patch", f"/api/leagues/{league.pk}", {"gate_elo1": -10})
    assert response.status_code == 400 and "gating:" in response.json()["error"]
    assert League.objects.get(pk=league.pk).gate_elo1 == 15.5


def test_the_list_reads_the_same_number_of_queries_for_one_league_or_many(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/leagues").status_code == 200
        return len(captured)

    LeagueFactory(user=user)
    one = queries()
    for _ in range(3):
        members = [AgentFactory(owner=user).pk, AgentFactory(owner=user).pk]
        LeagueFactory(user=user, members=members, status="paused")  # a user runs 2 active at most
    assert queries() == one
