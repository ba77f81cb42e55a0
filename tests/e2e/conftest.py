"""Shared browser-test fixtures: uvicorn in a subprocess on the test database, and headless Chromium.

Uvicorn serves `arena.asgi` on a free port as the Procfile does (`tests/servers.py`), reading and writing
the test database (SQLite file or PostgreSQL), with a channel prefix of its own shared with this process,
so what a test publishes reaches the browser.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM
from tests.servers import asgi_server


@pytest.fixture
def channel_prefix(settings) -> str:
    """Our own channel prefix, shared with the server below: group names repeat across test sessions."""
    prefix = f"arena-e2e-{uuid.uuid4().hex[:10]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    return prefix


@pytest.fixture
def server(transactional_db, channel_prefix: str, tmp_path: Path) -> Iterator[str]:
    """Uvicorn serving arena.asgi on a free port, reading and writing the test database."""
    with asgi_server(
        media_root=tmp_path / "media",
        log=tmp_path / "server.log",
        env={"ARENA_CHANNEL_PREFIX": channel_prefix},
    ) as (url, _):
        yield url


@pytest.fixture
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.fixture
def session_cookie(server: str) -> dict:
    """A fresh user's session, made before Playwright's loop starts in this thread (Django refuses DB
    queries from a thread with a running loop)."""
    from django.test import Client

    from tests.factories import UserFactory

    user = UserFactory(username="grace")
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server}


@pytest.fixture
def player(session_cookie: dict, browser_page):
    """A browser context signed in as that user."""
    browser_page.add_cookies([session_cookie])
    return browser_page
