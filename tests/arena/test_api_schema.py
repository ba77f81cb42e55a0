"""/api/openapi.json is generated from the endpoints' own types, and documents what they answer."""

from __future__ import annotations

import pytest

from marl.games import GAMES

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/openapi.json").json()


def test_the_schema_lists_every_route_at_its_old_url(schema):
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        ("/api/", "get"),
        ("/api/games", "get"),
        ("/api/agents", "get"),
        ("/api/agents", "post"),
        ("/api/agents/{pk}", "get"),
        ("/api/agents/{pk}", "delete"),
        ("/api/agents/{pk}/checkpoints", "get"),
        ("/api/agents/{pk}/checkpoints", "post"),
        ("/api/checkpoints/{pk}", "get"),
        ("/api/checkpoints/{pk}/rating", "get"),
        ("/api/checkpoints/{pk}/export", "get"),
        ("/api/leaderboards/{game}", "get"),
        ("/api/leaderboards/{game}/payoffs", "get"),
        ("/api/leagues", "get"),
        ("/api/leagues", "post"),
        ("/api/leagues/{pk}", "get"),
        ("/api/leagues/{pk}", "patch"),
        ("/api/leagues/{pk}/tick", "post"),
        ("/api/leagues/{pk}/gates", "get"),
        ("/api/leagues/{pk}/strength", "get"),
        ("/api/runs", "get"),
        ("/api/runs", "post"),
        ("/api/runs/{pk}", "get"),
        ("/api/runs/{pk}/cancel", "post"),
        ("/api/matches", "get"),
        ("/api/matches", "post"),
        ("/api/matches/{pk}", "get"),
        ("/api/matches/{pk}/take-over", "post"),
        ("/api/tournaments", "get"),
        ("/api/tournaments", "post"),
        ("/api/tournaments/{pk}", "get"),
        ("/api/tournaments/{pk}/cancel", "post"),
        ("/api/ratings/{game}", "get"),
        ("/api/tokens", "get"),
        ("/api/tokens", "post"),
        ("/api/tokens/{pk}", "delete"),
    }


def test_every_read_answers_at_its_documented_url(client, schema):
    for path, item in schema["paths"].items():
        if "get" in item and "{" not in path and path != "/api/tokens":
            assert client.get(path).status_code == 200, path


def test_every_list_documents_limit_and_offset(schema):
    for path in ("/api/agents", "/api/runs", "/api/matches", "/api/tournaments", "/api/leagues"):
        params = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}
        assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == 200
        assert params["offset"]["minimum"] == 0 and "maximum" in params["offset"]


def test_every_write_documents_401_403_and_429_with_retry_after(schema):
    writes = [op for item in schema["paths"].values() for method, op in item.items() if method in WRITES]
    assert len(writes) >= 7
    for op in writes:
        assert {"401", "403", "429"} <= set(op["responses"]), op["operationId"]
        assert "Retry-After" in op["responses"]["429"]["headers"]
        assert op["security"]


def test_the_upload_documents_its_413_and_multipart_body(schema):
    op = schema["paths"]["/api/agents/{pk}/checkpoints"]["post"]
    assert "413" in op["responses"]
    assert "multipart/form-data" in op["requestBody"]["content"]


def test_bodies_forbid_unknown_fields_and_name_seats_as_enums(schema):
    components = schema["components"]["schemas"]
    for name in ("AgentIn", "RunIn", "MatchIn", "TokenIn", "TournamentIn", "LeagueIn", "LeagueSettingsIn"):
        assert components[name]["additionalProperties"] is False, name
    seat = components["AgentIn"]["properties"]["seat"]["anyOf"][0]
    assert set(seat["enum"]) == {name for spec in GAMES.values() for name in spec.seats}
    assert {"player_0", "player_1", "player_2"} <= set(seat["enum"])
    assert components["MatchIn"]["properties"]["seats"]["propertyNames"]["enum"] == seat["enum"]
