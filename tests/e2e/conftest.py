"""Shared browser-test fixtures: daphne in a subprocess on the test database, and headless Chromium.

Daphne serves `arena.asgi` on a free port, reading and writing the test database (a SQLite file), with a
channel prefix of its own shared with this process, so what a test publishes reaches the browser.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.e2e.browser import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """Daphne serving arena.asgi on a free port, reading and writing the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "arena.settings",
        "DJANGO_DEBUG": "1",  # static files through WhiteNoise's finders, no collectstatic needed
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "ARENA_CHANNEL_PREFIX": channel_prefix,
        "ARENA_MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "daphne.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "arena.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daphne did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


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
