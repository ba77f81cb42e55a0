"""Users list, name and revoke their own API tokens; a password change ends them all."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import ApiToken

pytestmark = pytest.mark.django_db


def token_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_user_issues_lists_and_revokes_a_named_token(user_client):
    issued = user_client.post("/api/tokens", {"name": "laptop"}, content_type="application/json")
    assert issued.status_code == 201 and issued.json()["name"] == "laptop"
    key = issued.json()["token"]
    assert token_client(key).get("/api/tokens").status_code == 200  # the key works, and marks it used
    listed = user_client.get("/api/tokens").json()
    assert [(t["name"], t["last_used_at"] is not None) for t in listed] == [("laptop", True)]
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at"}  # never the secret
    assert user_client.delete(f"/api/tokens/{listed[0]['id']}").status_code == 200
    assert token_client(key).get("/api/tokens").status_code == 401
    assert not ApiToken.objects.exists()


def test_a_token_without_a_name_is_called_default(user_client):
    response = user_client.post("/api/tokens", content_type="application/json")
    assert response.status_code == 201 and response.json()["name"] == "default"


def test_nobody_sees_or_revokes_another_users_tokens(client, user, other_user):
    theirs, key = ApiToken.issue(user=other_user, name="theirs")
    client.force_login(user)
    assert client.get("/api/tokens").json() == []
    assert client.delete(f"/api/tokens/{theirs.pk}").status_code == 404
    assert token_client(key).get("/api/tokens").json()[0]["name"] == "theirs"


def test_anonymous_callers_cannot_list_tokens(client):
    assert client.get("/api/tokens").status_code == 401


def test_a_password_change_ends_every_token(user):
    _, key = ApiToken.issue(user=user, name="script")
    assert token_client(key).get("/api/tokens").status_code == 200
    user.set_password("a brand new passphrase")
    user.save()
    response = token_client(key).post(
        "/api/agents", {"game": "tictactoe", "name": "x"}, content_type="application/json"
    )
    assert response.status_code == 401 and "invalid API token" in response.json()["error"]
