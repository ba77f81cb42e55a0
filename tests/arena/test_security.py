"""Nobody let in: production settings pass `check --deploy`, rate limits on logins, API writes and
training submissions, upload size limits, and WebSocket handshakes without a same-site Origin."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from arena.models import Checkpoint, TrainingRun
from arena.ratelimit import RateLimited
from arena.services.checkpoints import checkpoint_import
from arena.services.training import training_run_create
from tests.arena.conftest import ROOT, session_cookie
from tests.factories import AgentFactory

PASSWORD = "correct horse battery staple"
TINY = {"env_steps": 200, "steps_per_epoch": 200, "num_envs": 1, "eval_games": 2}


def test_production_settings_pass_check_deploy() -> None:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "arena.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://arena.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


# ------------------------------------------------------------------------------------------- logins
def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_failed_logins_are_limited_per_ip_and_username(user, settings, db) -> None:
    settings.ARENA_RATE_LOGIN_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert _login(client, "ada", "wrong").status_code == 200  # the form again, with its error
    refused = _login(client, "ada", PASSWORD)  # even the right password: no oracle for a guesser
    assert refused.status_code == 429 and b"too many failed logins" in refused.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out, and logs in.
    assert _login(Client(), "ada", PASSWORD, ip="10.0.0.2").status_code == 302


def test_failed_logins_are_limited_per_ip_across_usernames(user, settings, db) -> None:
    settings.ARENA_RATE_LOGIN_IP_FAILURES = 4
    client = Client()
    for name in ("a1", "a2", "a3", "a4"):
        assert _login(client, name, "wrong").status_code == 200
    assert _login(client, "ada", PASSWORD).status_code == 429


def test_successful_logins_are_not_counted(user, settings, db) -> None:
    settings.ARENA_RATE_LOGIN_FAILURES = 2
    for _ in range(4):
        assert _login(Client(), "ada", PASSWORD).status_code == 302


# ---------------------------------------------------------------------------------------------- API
def _token(user) -> str:
    from arena.models import ApiToken

    return ApiToken.issue(user=user, name="t")[1]


def test_api_writes_are_limited_per_user_with_429_and_retry_after(user, other_user, settings, db) -> None:
    settings.ARENA_RATE_API_WRITES = 3
    client = Client(HTTP_AUTHORIZATION=f"Token {_token(user)}")
    body = {"game": "tictactoe", "name": "x"}
    codes = [
        client.post("/api/agents", {**body, "name": f"a{i}"}, content_type="application/json").status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    refused = client.post("/api/agents", {**body, "name": "late"}, content_type="application/json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "too many API writes" in refused.json()["error"]
    assert client.get("/api/agents").status_code == 200  # reads are not limited
    other = Client(HTTP_AUTHORIZATION=f"Token {_token(other_user)}")
    assert other.post("/api/agents", body, content_type="application/json").status_code == 201


def test_training_submissions_are_limited_per_user(user, settings, transactional_db) -> None:
    settings.ARENA_RATE_TRAINING = 2
    settings.ARENA_MAX_RUNS_PER_USER = 100
    agent = AgentFactory(owner=user)
    for _ in range(2):
        training_run_create(user=user, agent_id=agent.pk, config=TINY)
    with pytest.raises(RateLimited, match="too many training submissions"):
        training_run_create(user=user, agent_id=agent.pk, config=TINY)
    assert TrainingRun.objects.count() == 2
    client = Client(HTTP_AUTHORIZATION=f"Token {_token(user)}")
    response = client.post("/api/runs", {"agent": agent.pk, "config": TINY}, content_type="application/json")
    assert response.status_code == 429 and TrainingRun.objects.count() == 2
    from arena.celery import app

    app.control.purge()  # no worker here: drop the two queued messages


# ------------------------------------------------------------------------------------------ uploads
def test_oversized_json_bodies_are_refused(user, db) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Token {_token(user)}")
    response = client.post("/api/agents", "x" * (70 * 1024), content_type="application/json")
    assert response.status_code == 413


def test_an_oversized_upload_is_refused_by_its_length_before_parsing(user, settings, db) -> None:
    settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES = 1024
    agent = AgentFactory(owner=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {_token(user)}")
    big = SimpleUploadedFile("w.safetensors", b"\0" * (4 * 1024 * 1024))
    response = client.post(
        f"/api/agents/{agent.pk}/checkpoints",
        {"weights": big, "sidecar": SimpleUploadedFile("s.json", b"{}")},
    )
    assert response.status_code == 413
    assert not Checkpoint.objects.exists()


def test_an_oversized_weights_file_is_refused_by_the_service(user, settings, media_root, db) -> None:
    settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES = 1024
    agent = AgentFactory(owner=user)
    with pytest.raises(Exception, match="limit"):
        checkpoint_import(
            user=user,
            agent_id=agent.pk,
            weights=SimpleUploadedFile("w.safetensors", b"\0" * 2048),
            sidecar=SimpleUploadedFile("s.json", b"{}"),
        )
    assert not Checkpoint.objects.exists() and not (media_root / "agents").exists()


# --------------------------------------------------------------------------------------- WebSockets
@pytest.fixture
def human_game(user):
    from arena.services.play import human_game_create

    return human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=1)


async def _handshake(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, dict | None]:
    from arena.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    output = await communicator.receive_output(timeout=5) if connected else None
    await communicator.disconnect()
    return connected, output


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/matches/1/", "/ws/play/1/", "/ws/runs/1/"])
async def test_sockets_without_an_origin_are_refused(path) -> None:
    connected, _ = await _handshake(path, [])
    assert not connected  # scripts on other sites cannot omit the header to get in


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_users_cookie_from_a_foreign_origin_is_refused(user, human_game) -> None:
    """Cross-site WebSocket hijacking: the browser sends the cookie, the Origin gives the page away."""
    cookie = await database_sync_to_async(session_cookie)(user)
    for origin in (b"http://evil.example", b"null", b"http://127.0.0.1.evil.example"):
        connected, _ = await _handshake(f"/ws/play/{human_game.pk}/", [(b"origin", origin), cookie])
        assert not connected, origin
    connected, snapshot = await _handshake(
        f"/ws/play/{human_game.pk}/", [(b"origin", b"http://127.0.0.1"), cookie]
    )
    assert connected and snapshot["type"] == "websocket.send"  # the same site gets its snapshot


@pytest.mark.django_db(transaction=True)
async def test_a_forged_session_cookie_counts_as_anonymous(human_game) -> None:
    headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", b"sessionid=" + secrets.token_hex(16).encode())]
    connected, closed = await _handshake(f"/ws/play/{human_game.pk}/", headers)
    assert connected and closed == {"type": "websocket.close", "code": 4401}
