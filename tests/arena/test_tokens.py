"""The tokens page: a signed-in user sees, issues and revokes their own API tokens."""

from __future__ import annotations

import pytest

from arena.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_page_needs_a_sign_in(client):
    assert client.get("/accounts/tokens/").status_code == 302


def test_a_user_issues_a_token_and_sees_its_key_once(user_client):
    response = user_client.post("/accounts/tokens/new/", {"name": "ci"})
    assert response.status_code == 201
    key = response.context["new_key"]
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).name == "ci"
    page = user_client.get("/accounts/tokens/").content.decode()
    assert "ci" in page and key not in page


def test_a_bad_name_is_refused(user_client):
    assert user_client.post("/accounts/tokens/new/", {"name": "n" * 81}).status_code == 400
    assert user_client.post("/accounts/tokens/new/", {"name": "a\x00b"}).status_code == 400
    assert not ApiToken.objects.exists()


def test_a_user_revokes_only_their_own_tokens(user_client, user, other_user):
    mine, _ = ApiToken.issue(user=user, name="mine")
    theirs, _ = ApiToken.issue(user=other_user, name="theirs")
    assert user_client.post(f"/accounts/tokens/{theirs.pk}/revoke/").status_code == 404
    assert user_client.post(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 302
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["theirs"]
