"""A live training game on a run page: while a real run trains (the service a Celery worker runs, in a
thread of this process), its page draws a sampled game move by move beside the learning curves, and
lists each checkpoint the run writes as it is written; so does its agent's page, in its own table.

Screenshot: artifacts/training-live.png.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, chart_points
from tests.factories import AgentFactory, UserFactory

pytestmark = BROWSER_TEST

# Long enough to outlast the test (it cancels the run once it has seen what it needs), in short epochs
# so that the learning curves get points and the cancel is prompt.
CONFIG = {"env_steps": 50_000, "steps_per_epoch": 300, "num_envs": 2, "eval_games": 4, "seed": 1}


@pytest.fixture
def queued_run(server: str, settings, tmp_path: Path):
    """A run queued by the service, made before the browser starts (Django refuses DB queries from a
    thread with a running loop, and Playwright's sync API runs one in this thread)."""
    from arena.services.training import training_run_create

    settings.MEDIA_ROOT = tmp_path / "media"  # the server's media folder too
    settings.ARENA_TRAINING_WATCH_SECONDS = 2.0
    user = UserFactory(username="ada")
    agent = AgentFactory(owner=user, name="watched")
    return user, training_run_create(user=user, agent_id=agent.pk, config=CONFIG)


def _in_thread(call) -> threading.Thread:
    def run() -> None:
        try:
            call()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_live_training_game_on_a_run_page(server: str, queued_run, browser_page) -> None:
    from arena.services.training import training_run_cancel, training_run_execute

    ARTIFACTS.mkdir(exist_ok=True)
    user, run = queued_run
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/runs/{run.pk}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    watch = page.locator("[data-training-game]")
    assert "Every few seconds" in watch.inner_text()
    listed = page.locator("[data-run-checkpoints] li")
    assert listed.count() == 0 and page.locator("[data-run-checkpoints-none]").is_visible()
    agent_page = browser_page.new_page()  # the agent's page, open beside it, gets them too
    agent_page.on("pageerror", lambda exc: errors.append(str(exc)))
    agent_page.goto(f"{server}/agents/{run.agent_id}/")
    agent_page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert agent_page.locator("[data-agent-checkpoints-none]").is_visible()

    trainer = _in_thread(lambda: training_run_execute(run_id=run.pk, worker="e2e-worker"))
    seen: list[tuple[str, int]] = []  # (game number, pieces on the board) each time the board changes
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # The game number and the pieces in one read: two reads could straddle the next game's start.
        key = tuple(
            page.evaluate(
                """() => [document.querySelector("[data-training-game]").dataset.number || "",
                          document.querySelectorAll("[data-training-game] [data-board] [data-piece]").length]"""
            )
        )
        if key[0] and key != (seen[-1] if seen else None):
            seen.append(key)
        games = {number for number, _ in seen}
        curves = chart_points(page, "losses")
        if (
            len(games) >= 2
            and len(seen) >= 6
            and curves
            and min(curves.values()) >= 2
            and listed.count() >= 2
        ):
            break
        time.sleep(0.1)
    page.screenshot(path=str(ARTIFACTS / "training-live.png"), full_page=True)
    _in_thread(lambda: training_run_cancel(user=user, run_id=run.pk)).join(30)
    trainer.join(120)

    # Pieces appeared and changed move by move, over more than one sampled game.
    assert len({number for number, _ in seen}) >= 2, seen
    first_game = [pieces for number, pieces in seen if number == seen[0][0]]
    assert len(first_game) >= 3 and first_game == sorted(first_game), seen
    assert max(pieces for _, pieces in seen) >= 3, seen
    caption = watch.locator("[data-training-game-caption]").inner_text()
    assert caption.startswith("Game ") and "env steps" in caption, caption
    assert "this run (greedy)" in watch.locator("[data-training-game-players]").inner_text()
    # Beside the learning curves, which grew from the same run's stats.
    losses = chart_points(page, "losses")
    assert losses and all(count >= 2 for count in losses.values()), losses
    board, curves = page.locator("[data-training-game] [data-board]"), page.locator(".training-curves")
    assert board.bounding_box()["x"] < curves.bounding_box()["x"]  # side by side at desktop width
    page.locator(".status", has_text="Cancelled").wait_for(timeout=30_000)
    # Every checkpoint the run wrote is listed, newest version of each seat first, with its links.
    written: list[tuple[int, str]] = []
    _in_thread(
        lambda: written.extend(run.checkpoints.order_by("seat", "-version").values_list("pk", "seat"))
    ).join(30)
    page.wait_for_function(
        f"document.querySelectorAll('[data-run-checkpoints] li').length === {len(written)}"
    )
    assert [int(pk) for pk in listed.evaluate_all("items => items.map(li => li.dataset.checkpoint)")] == [
        pk for pk, _ in written
    ]
    first = listed.first
    assert (
        first.inner_text().startswith(f"watched:{written[0][1]}@v")
        and " steps · weights · sidecar" in first.inner_text()
    )
    assert first.locator("a").first.get_attribute("href") == f"/checkpoints/{written[0][0]}/"
    assert not page.locator("[data-run-checkpoints-none]").is_visible()
    # The agent page's table has the same rows in the same order, in its own columns.
    agent_page.wait_for_function(
        f"document.querySelectorAll('[data-agent-checkpoints] tr').length === {len(written)}"
    )
    rows = agent_page.locator("[data-agent-checkpoints] tr")
    assert [int(pk) for pk in rows.evaluate_all("rows => rows.map(tr => tr.dataset.checkpoint)")] == [
        pk for pk, _ in written
    ]
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[0].startswith("v") and cells[1].startswith(written[0][1]) and cells[4] == "rating pending"
    assert "Play against this checkpoint" in cells[-1] and cells[-2] == "export · weights · sidecar"
    assert not agent_page.locator("[data-agent-checkpoints-none]").is_visible()
    assert errors == []
