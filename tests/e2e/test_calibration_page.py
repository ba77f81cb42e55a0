"""A real browser on an agent page: a new checkpoint shows "rating pending", then, as the calibration
job plays and refits, its rating with an interval, without a reload."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.db import connection

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def new_entrant(server: str, settings, tmp_path: Path):
    """An agent version (a checkpoint per seat) nobody has rated, its files where the server looks."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARENA_CALIBRATION_BATCH_PAIRS = 4
    settings.ARENA_CALIBRATION_HALF_WIDTH = 5000.0  # the first fit is enough: the test is about the page
    agent = AgentFactory()
    rows = [CheckpointFactory(agent=agent, seat=s, version=1, seed=i) for i, s in enumerate(agent.game.seats)]
    return agent, rows


def test_a_new_checkpoint_shows_rating_pending_then_its_rating_with_an_interval(
    server: str, new_entrant, browser_page
) -> None:
    from arena.services.calibration import checkpoint_calibrate

    ARTIFACTS.mkdir(exist_ok=True)
    agent, rows = new_entrant
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/agents/{agent.pk}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    cells = [page.locator(f'[data-calibration="{row.pk}"]') for row in rows]
    assert [cell.inner_text().strip() for cell in cells] == ["rating pending", "rating pending"]

    # The worker's job, in a thread of this process: it stores each batch, then publishes it.
    def calibrate() -> None:
        try:
            checkpoint_calibrate(checkpoint_id=rows[0].pk)
        finally:
            connection.close()

    worker = threading.Thread(target=calibrate, daemon=True)
    worker.start()
    for row, cell in zip(rows, cells, strict=True):
        page.locator(f'[data-calibration="{row.pk}"][data-calibration-status="rated"]').wait_for(
            timeout=60_000
        )
        assert re.fullmatch(r"-?\d+ ±\d+", cell.inner_text().strip()), cell.inner_text()
    worker.join(30)
    page.screenshot(path=str(ARTIFACTS / "agent-calibrated.png"), full_page=True)

    page.reload()  # the stored rating, rendered by the server
    shown = page.locator(f'[data-calibration="{rows[1].pk}"]').inner_text().strip()
    assert re.fullmatch(r"-?\d+ ±\d+", shown) and shown == cells[0].inner_text().strip()
    assert not errors, errors
