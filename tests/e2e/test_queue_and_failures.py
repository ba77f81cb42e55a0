"""In a real browser: a queued match says where it stands in the games queue and why it waits, and an
agent's page lists its failures with the error behind a click. Screenshots go to artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from arena.models import Match, TrainingRun
from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.factories import AgentFactory, MatchFactory, TrainingRunFactory

pytestmark = BROWSER_TEST

TRACEBACK = 'Traceback (most recent call last):\n  File "train.py", line 3\nRuntimeError: CUDA out of memory'


@pytest.fixture
def waiting(server: str, settings, tmp_path: Path) -> dict:
    """Two matches no worker has taken (one ahead of the other), one playing, and a failed run."""
    settings.MEDIA_ROOT = tmp_path / "media"
    busy, ahead, mine = MatchFactory(), MatchFactory(), MatchFactory()
    Match.objects.filter(pk=busy.pk).update(status=Match.RUNNING, started_at=timezone.now())
    agent = AgentFactory(name="fragile")
    run = TrainingRunFactory(agent=agent)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.FAILED, error=TRACEBACK, env_steps_done=300, finished_at=timezone.now()
    )
    return {"busy": busy, "ahead": ahead, "mine": mine, "agent": agent, "run": run}


def test_a_queued_match_says_its_place_and_an_agent_its_failures(server: str, waiting, browser_page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page.new_page()
    page.goto(f"{server}/matches/{waiting['mine'].pk}/")
    place = page.locator("[data-queue-place]")
    assert place.inner_text().startswith("Queued: 1 match ahead of this one in the games queue;")
    assert f"busy with match #{waiting['busy'].pk} (tictactoe" in place.inner_text()
    page.screenshot(path=str(ARTIFACTS / "match-queued.png"), full_page=True)

    page.goto(f"{server}/agents/{waiting['agent'].pk}/")
    row = page.locator(f'[data-failure="run-{waiting["run"].pk}"]')
    assert "at 300 of 1000 env steps" in row.inner_text()
    row.locator("summary").click()
    assert 'File "train.py", line 3' in row.locator("pre").inner_text()
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "agent-failures.png"), full_page=True)
