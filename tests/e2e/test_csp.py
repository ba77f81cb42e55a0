"""Pages work under the Content-Security-Policy: no violation on any page a person visits."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to drive"),
]


@pytest.fixture
def pages(server: str, django_user_model) -> list[str]:
    from arena.services.agents import agent_create
    from arena.services.matches import match_create

    owner = django_user_model.objects.create_user(username="csp", password="correct horse battery staple")
    agent = agent_create(owner=owner, game="tictactoe", name="csp-agent", algorithm="dqn")
    match = match_create(
        user=None,
        game="tictactoe",
        seats={"player_1": "bot:minimax", "player_2": "bot:random"},
        seed=3,
        dispatch=False,
    )
    return [
        "/",
        "/games/",
        f"/agents/{agent.pk}/",
        f"/matches/{match.pk}/",
        "/play/",
        "/tournaments/",
        "/leagues/",
        "/games/tictactoe/leaderboard/",
        "/accounts/login/",
        "/accounts/signup/",
    ]


def test_no_page_breaks_the_content_security_policy(server: str, pages: list[str], browser_page) -> None:
    page = browser_page.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in pages:
        response = page.goto(server + path)
        assert response is not None and response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        )
        page.wait_for_timeout(300)  # module scripts and sockets start
    assert violations == []
