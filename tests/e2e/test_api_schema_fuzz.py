"""schemathesis drives the live API from its own OpenAPI schema: no input gets a 500, and nobody
without credentials changes anything.

The operations are walked by hand rather than through schemathesis's pytest plugin, which does not run
under pytest 9 (it reads a removed private attribute of test items).
"""

from __future__ import annotations

import http.client
import json
import os
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.e2e

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# ARENA_FUZZ_EXAMPLES raises the examples per operation for a longer run than CI's.
FUZZ = settings(
    max_examples=int(os.environ.get("ARENA_FUZZ_EXAMPLES", "10")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _operations(server: str) -> list:
    schema = schemathesis.openapi.from_url(f"{server}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the schema lost operations"
    return operations


def _fuzz(operation, check, headers: dict[str, str] | None = None) -> int:
    """Run one operation's examples; returns how many requests were sent."""
    sent = []

    @FUZZ
    @given(case=operation.as_strategy())
    def run(case) -> None:
        sent.append(case)
        check(case, case.call(headers=headers))

    run()
    return len(sent)


def test_anonymous_requests_never_get_a_500_or_change_anything(server: str):
    from arena.models import Agent, League, Match, Tournament, TrainingRun

    def check(case, response) -> None:
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        if case.method.upper() in WRITES:
            assert response.status_code in (401, 403, 404, 405), (
                case.method,
                case.path,
                response.status_code,
            )

    operations = _operations(server)
    sent = sum(_fuzz(operation, check) for operation in operations)
    print(f"anonymous: {len(operations)} operations, {sent} requests")
    assert not Agent.objects.exists() and not TrainingRun.objects.exists() and not Match.objects.exists()
    assert not Tournament.objects.exists() and not League.objects.exists()


def test_signed_in_requests_never_get_a_500(server: str):
    from arena.models import ApiToken

    user = UserFactory(username="fuzzer")
    AgentFactory(owner=user, name="fuzz-target")  # something real for ids to hit
    headers = {"Authorization": f"Token {ApiToken.issue(user=user)[1]}"}

    def check(case, response) -> None:
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])

    operations = _operations(server)
    sent = sum(_fuzz(operation, check, headers) for operation in operations)
    print(f"signed in: {len(operations)} operations, {sent} requests")


def _raw(server: str, method: str, path: str, body: bytes = b"", token: str = "") -> tuple[int, bytes]:
    """One request as bytes on the wire, past any client library's own checks."""
    url = urlsplit(server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def test_the_server_refuses_hostile_input_without_a_500(server: str, django_user_model):
    from arena.models import Agent, ApiToken

    user = django_user_model.objects.create_user(username="hostile", password="correct horse battery staple")
    token = ApiToken.issue(user=user)[1]
    for query in ("offset=9223372036854775808", "limit=-1", "limit=10000000000", "game=%00"):
        status, _ = _raw(server, "GET", f"/api/agents?{query}")
        assert status == 400 or (query.startswith("game") and status == 200), (query, status)
    nested = b'{"game": "tictactoe", "name": "x", "network": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    for body in (
        nested,
        b'{"game": "tictactoe", "name": "\\ud800"}',
        b'{"game": "tictactoe", "name": "a\\u0000b"}',
        b'{"game": "tictactoe", "name": "x", "admin": true}',
        json.dumps({"game": "tictactoe", "name": "n" * 5000}).encode(),
    ):
        status, content = _raw(server, "POST", "/api/agents", body, token)
        assert status == 400 and len(content) < 1000, (body[:60], status, content[:200])
    status, _ = _raw(server, "POST", "/api/tokens", json.dumps({"name": "t" * 5000}).encode(), token)
    assert status == 400
    assert _raw(server, "POST", "/api/agents", b'{"game": "tictactoe", "name": "x"}')[0] == 401
    assert not Agent.objects.exists()
