"""A real browser against a real ASGI server: the dashboard loads, and a match between two bots,
played by the same service a Celery worker runs, shows up move by move without a reload.

Uvicorn runs in a subprocess on the test database (SQLite or PostgreSQL), with a channel prefix of its own
shared with this process, which publishes the moves. Screenshots go to artifacts/.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tests.e2e.browser import (
    ARTIFACTS,
    BROWSER_TEST,
    board_pieces,
    chart_points,
    stored_states,
    wait_for_points,
)
from tests.factories import AgentFactory, UserFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def live_match(server: str):
    """Created before the browser starts: Playwright's sync API runs an event loop in this thread,
    and Django refuses DB queries from a thread with a running loop."""
    from arena.services.matches import match_create

    return match_create(
        user=None,
        game="tictactoe",
        seats={"player_1": "bot:minimax", "player_2": "bot:random"},
        seed=11,
        move_delay=0.6,
        dispatch=False,
    )


def test_a_live_match_plays_out_in_the_browser(server: str, live_match, browser_page) -> None:
    from arena.services.matches import match_play

    ARTIFACTS.mkdir(exist_ok=True)
    match = live_match
    errors: list[str] = []

    dashboard = browser_page.new_page()
    dashboard.on("pageerror", lambda exc: errors.append(f"dashboard: {exc}"))
    dashboard.goto(server + "/")
    dashboard.locator("h1", has_text="Dashboard").wait_for()
    dashboard.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert dashboard.locator("#matches").get_by_text(f"#{match.pk}").count() == 1
    dashboard.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(f"match: {exc}"))
    page.goto(f"{server}/matches/{match.pk}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)  # snapshot received
    # The game starts from its opening: on the board already, and greyed apart in the move list.
    assert match.opening_plies == 2 and board_pieces(page) == 2
    opening = page.locator("[data-moves] [data-opening]")
    assert opening.inner_text() == "opening " + " ".join(map(str, match.opening))
    assert "muted" in (opening.get_attribute("class") or "")

    # The worker's job, in a thread of this process: it writes each move to the DB, then publishes it.
    def play() -> None:
        try:
            match_play(match_id=match.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=play, daemon=True)
    worker.start()

    seen = [0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        count = board_pieces(page)
        if count != seen[-1]:
            seen.append(count)
        if page.locator("[data-result]").inner_text().strip():
            break
        time.sleep(0.1)
    page.screenshot(path=str(ARTIFACTS / "match-live-end.png"), full_page=True)
    worker.join(10)

    stored = stored_states(server, match.pk)
    assert stored["status"] == "finished"
    final = stored["states"][-1]
    # Moves arrived one by one over the socket: the board grew through intermediate counts.
    assert len(seen) >= 4 and seen == sorted(seen), seen
    assert board_pieces(page) == len(final["moves"])
    result = page.locator("[data-result]").inner_text()
    assert ("wins" in result) if final["result"]["winner"] else ("Draw" in result), result

    # The replay slider appears once the match is over and rewinds the board.
    slider = page.locator("[data-replay-slider]")
    slider.wait_for(state="visible", timeout=10_000)
    slider.evaluate("(el) => { el.value = '1'; el.dispatchEvent(new Event('input')); }")
    assert board_pieces(page) == 1
    page.screenshot(path=str(ARTIFACTS / "match-replay.png"), full_page=True)

    # The dashboard, never reloaded, moved the match from Live to Recent on its "matches_changed" notice.
    matches = dashboard.locator("#matches")
    matches.locator(".status.finished", has_text="Finished").wait_for(timeout=10_000)
    assert "No live matches" in matches.inner_text()
    dashboard.screenshot(path=str(ARTIFACTS / "dashboard-after.png"), full_page=True)
    assert errors == []


@pytest.fixture
def agent_and_finished_match(server: str):
    """An agent with a running run and two epochs of stats, and a finished connect four match."""
    from arena.models import TrainingRun, TrainingStat
    from arena.services.matches import match_create, match_play

    agent = AgentFactory(owner=UserFactory(username="ada"), name="learner")
    run = TrainingRun.objects.create(agent=agent, config={}, status=TrainingRun.RUNNING, env_steps_total=3000)
    for steps, mean in ((1000, -0.4), (2000, 0.1)):
        data = {
            "env_steps": steps,
            "mean_return": mean,
            "win_rate": 0.3,
            "losses": {"player_1/loss": 1 / steps},
        }
        TrainingStat.objects.create(run=run, env_steps=steps, data=data)
    match = match_create(
        user=None,
        game="connect_four",
        seats={"player_0": "bot:alphabeta:2", "player_1": "bot:random"},
        seed=4,
        dispatch=False,
    )
    match_play(match_id=match.pk)
    return run, match.pk


def test_learning_curves_grow_live_and_connect_four_replays(
    server: str, agent_and_finished_match, browser_page
):
    from arena import live

    run, match_id = agent_and_finished_match
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/agents/{run.agent_id}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    wait_for_points(page, "return", "mean return", 2)
    assert chart_points(page, "losses") == {"player_1/loss": 2}

    stats = {"env_steps": 3000, "mean_return": 0.6, "win_rate": 0.7, "env_steps_total": 3000}
    message = live.training_stats_message(run_id=run.pk, agent_id=run.agent_id, status="running", stats=stats)
    # A thread: Playwright's loop runs in this one, and publish uses async_to_sync.
    publisher = threading.Thread(target=live.publish, args=(live.agent_group(run.agent_id), message))
    publisher.start()
    publisher.join(10)
    wait_for_points(page, "return", "mean return", 3)
    assert page.locator(f'[data-run="{run.pk}"] progress').get_attribute("value") == "3000"
    page.screenshot(path=str(ARTIFACTS / "agent-curves.png"), full_page=True)

    page.goto(f"{server}/matches/{match_id}/")
    final = stored_states(server, match_id)["states"][-1]
    assert board_pieces(page) == len(final["moves"]) > 0
    assert page.locator("[data-result]").inner_text().strip()
    page.locator("[data-replay-slider]").evaluate(
        "(el) => { el.value = '3'; el.dispatchEvent(new Event('input')); }"
    )
    assert board_pieces(page) == 3
    page.screenshot(path=str(ARTIFACTS / "connect-four-replay.png"), full_page=True)
    assert errors == []
