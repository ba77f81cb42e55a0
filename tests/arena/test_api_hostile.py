"""Hostile input to the JSON API: every refusal is a bounded 4xx, never a 500 and never a stored row."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import Agent, ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user=user)[1]}")


def post_raw(client: Client, url: str, body: str | bytes):
    return client.post(url, data=body, content_type="application/json")


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=-1",
        "limit=0",
        "limit=-5",
        "limit=100000",
        "limit=1e3",
        "limit=99999999999999999999999999",
        "status=nonsense",
        "game=%00",
    ],
)
def test_out_of_range_paging_and_filters_get_400(client, query):
    for url in ("/api/agents", "/api/runs", "/api/matches", "/api/tournaments", "/api/leagues"):
        response = client.get(f"{url}?{query}")
        if (
            "game=" in query
            and url in ("/api/runs", "/api/matches")
            or "status=" in query
            and url == "/api/agents"
        ):
            assert response.status_code == 200  # a filter the endpoint does not have is ignored
            continue
        assert response.status_code == 400, (url, query, response.content)
        assert "error" in response.json()


def test_paging_within_bounds_works(client, user):
    from arena.services.agents import agent_create

    for i in range(3):
        agent_create(owner=user, game="tictactoe", name=f"a{i}")
    names = [a["name"] for a in client.get("/api/agents?limit=2&offset=1").json()]
    assert names == ["a1", "a0"]


@pytest.mark.parametrize("pk", ["9223372036854775808", "0", "-1", "99999999999999999999"])
def test_out_of_range_ids_get_4xx(client, pk):
    for url in (f"/api/agents/{pk}", f"/api/runs/{pk}", f"/api/checkpoints/{pk}", f"/api/tournaments/{pk}"):
        assert client.get(url).status_code in (400, 404)


def test_a_deeply_nested_body_is_refused_clearly(api):
    for depth in (40, 100_000 // 2):
        body = '{"game": "tictactoe", "name": "x", "network": ' + "[" * depth + "]" * depth + "}"
        response = post_raw(api, "/api/agents", body[: 60 * 1024] if depth > 1000 else body)
        assert response.status_code in (400, 413), response.content
    deep = "[" * 30_000 + "]" * 30_000
    response = post_raw(api, "/api/agents", '{"network": ' + deep + "}")
    assert response.status_code == 400 and "nested deeper" in response.json()["error"]
    assert not Agent.objects.exists()


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000", "a\\udfffb"])
def test_unstorable_strings_are_refused(api, bad):
    for body in (
        f'{{"game": "tictactoe", "name": "{bad}"}}',
        f'{{"game": "tictactoe", "name": "x", "network": {{"kind": "{bad}"}}}}',
        f'{{"game": "tictactoe", "name": "x", "network": {{"{bad}": 1}}}}',
    ):
        response = post_raw(api, "/api/agents", body)
        assert response.status_code == 400, response.content
    assert not Agent.objects.exists()


def test_a_string_longer_than_its_column_is_refused(api):
    response = post_raw(api, "/api/tokens", '{"name": "' + "n" * 5000 + '"}')
    assert response.status_code == 400 and "at most 80 characters" in response.json()["error"]
    assert ApiToken.objects.count() == 1  # the one the client holds


def test_error_messages_do_not_echo_the_input(api):
    response = post_raw(api, "/api/agents", '{"game": "' + "g" * 60_000 + '", "name": "x"}')
    assert response.status_code == 400 and len(response.content) < 1000


def test_unknown_fields_are_refused_everywhere(api, user):
    from arena.services.agents import agent_create

    agent = agent_create(owner=user, game="tictactoe", name="a")
    both = {"player_1": "bot:random", "player_2": "bot:random"}
    for url, body in (
        ("/api/agents", '{"game": "tictactoe", "name": "y", "is_staff": true}'),
        ("/api/runs", f'{{"agent": {agent.pk}, "status": "COMPLETED"}}'),
        (
            "/api/matches",
            f'{{"game": "tictactoe", "seats": {str(both).replace(chr(39), chr(34))}, "winner": "x"}}',
        ),
        ("/api/tokens", '{"name": "t", "user": 1}'),
        (
            "/api/tournaments",
            '{"game": "tictactoe", "format": "gauntlet", "participants": ["bot:random", "bot:minimax"], '
            '"status": "finished"}',
        ),
        ("/api/leagues", f'{{"game": "tictactoe", "name": "l", "members": [{agent.pk}], "tick_count": 9}}'),
    ):
        response = post_raw(api, url, body)
        assert response.status_code == 400 and "Extra inputs" in response.json()["error"], (
            url,
            response.content,
        )
