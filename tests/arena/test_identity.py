"""Identity: login limits count a name the way it logs in, look-alike names are refused, sign-ups are
limited per address, and the client's address comes from X-Forwarded-For only behind a trusted proxy."""

from __future__ import annotations

import pytest
from django.urls import reverse

from arena.identity import client_address, username_key, username_skeleton

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def probe(django_user_model):
    return django_user_model.objects.create_user(username="probe_b", password=PASSWORD)


def _login(client, username: str, password: str, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def test_the_login_limit_holds_for_a_unicode_compatible_spelling(client, probe, settings):
    settings.ARENA_RATE_LOGIN_FAILURES = 3
    for _ in range(3):
        assert _login(client, "probe_b", "wrong").status_code == 200
    assert _login(client, "probe_b", PASSWORD).status_code == 429
    # The full-width spelling logs in as probe_b (Django normalizes it), so it is locked out too.
    response = _login(client, "ｐｒｏｂｅ_ｂ", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_unicode_compatible_spelling_is_one_key():
    assert username_key("ｐｒｏｂｅ_ｂ") == username_key("Probe_B") == "probe_b"


@pytest.mark.parametrize(
    ("taken", "new"),
    [("paypal", "pаypal"), ("раураl", "paypal"), ("paypal", "раураl"), ("Ada", "аda")],
)
def test_a_name_that_looks_like_a_taken_one_is_refused(client, django_user_model, taken, new):
    django_user_model.objects.create_user(username=taken, password=PASSWORD)
    response = client.post(reverse("signup"), {"username": new, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200 and "username" in response.context["form"].errors
    assert not django_user_model.objects.filter(username=new).exists()


def test_a_name_mixing_alphabets_with_look_alikes_is_refused(client, django_user_model):
    response = client.post(
        reverse("signup"), {"username": "prоbe", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert "alphabet" in str(response.context["form"].errors["username"])
    assert not django_user_model.objects.filter(username="prоbe").exists()


@pytest.mark.parametrize("name", ["Müller", "иван", "李小龙"])
def test_names_in_one_alphabet_are_welcome(client, django_user_model, name):
    response = client.post(
        reverse("signup"), {"username": name, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert django_user_model.objects.filter(username=name).exists()


def test_sign_ups_are_limited_per_address(client, django_user_model, settings):
    settings.ARENA_RATE_SIGNUPS = 2
    for name in ("u1", "u2"):
        client.logout()
        data = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
        assert client.post(reverse("signup"), data).status_code == 302
    client.logout()
    data = {"username": "u3", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post(reverse("signup"), data).status_code == 429
    assert not django_user_model.objects.filter(username="u3").exists()


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings):
    settings.ARENA_TRUSTED_PROXIES = []
    assert client_address("203.0.113.9", "1.2.3.4") == "203.0.113.9"  # a forged header is ignored
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address("10.0.0.2", "1.2.3.4") == "1.2.3.4"
    # The client can prepend anything; the address our proxy saw is the last one not ours.
    assert client_address("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7") == "1.2.3.4"
    assert client_address("203.0.113.9", "1.2.3.4") == "203.0.113.9"


def test_behind_a_trusted_proxy_one_attacker_cannot_lock_everyone_out(client, probe, settings):
    settings.ARENA_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.ARENA_RATE_LOGIN_IP_FAILURES = 3
    attacker = {"HTTP_X_FORWARDED_FOR": "198.51.100.66", "REMOTE_ADDR": "127.0.0.1"}
    for name in ("a", "b", "c", "d"):
        _login(client, name, "wrong", **attacker)
    assert _login(client, "e", "wrong", **attacker).status_code == 429
    someone = {"HTTP_X_FORWARDED_FOR": "192.0.2.10", "REMOTE_ADDR": "127.0.0.1"}
    assert _login(client, "probe_b", PASSWORD, **someone).status_code == 302


def test_skeletons_map_look_alikes_to_latin():
    assert username_skeleton("раураl") == username_skeleton("PayPal") == "paypal"
