"""A match that fails while its page is open shows its report (what failed, where it stopped, the last
lines of its log) live, without a reload, as the page renders it on one.

Screenshot: artifacts/match-failed.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.e2e.test_training_live import _in_thread
from tests.factories import AgentFactory, CheckpointFactory, UserFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def doomed_match(server: str, settings, tmp_path: Path):
    """A queued match whose checkpoint's file the disk lost: it fails as soon as a worker plays it."""
    from arena.services.matches import match_create

    settings.MEDIA_ROOT = tmp_path / "media"
    user = UserFactory(username="ada")
    checkpoint = CheckpointFactory(agent=AgentFactory(owner=user, name="lost"), seat="player_1")
    match = match_create(
        user=user,
        game="tictactoe",
        seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
        seed=4,
        dispatch=False,
    )
    checkpoint.absolute_path().unlink()
    return match


def test_a_match_that_fails_while_watched_shows_its_report_live(
    server: str, doomed_match, browser_page
) -> None:
    from arena.services.matches import match_play

    ARTIFACTS.mkdir(exist_ok=True)
    match = doomed_match
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/matches/{match.pk}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    report = page.locator("[data-failure]")
    assert report.is_hidden()

    _in_thread(lambda: match_play(match_id=match.pk)).join(60)

    report.wait_for(state="visible", timeout=15_000)
    assert page.locator("[data-result]").inner_text() == "The match failed."
    assert page.locator("[data-match-error]").is_hidden()  # the report says it
    assert report.locator("[data-failure-what]").inner_text()
    assert report.locator("[data-failure-stopped]").inner_text().startswith("after ")
    assert report.locator("[data-failure-where]").inner_text().startswith(("marl/", "arena/"))
    assert (
        f"match {match.pk}: could not load its players" in report.locator("[data-failure-log]").inner_text()
    )
    page.screenshot(path=str(ARTIFACTS / "match-failed.png"), full_page=True)
    assert errors == []
