"""The start and the home in a real browser: a newcomer's steps, the demo game followed live on the
dashboard's board with the winner named, the lists with their search, and phone-sized pages that never
scroll sideways. Screenshots go to artifacts/."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, board_pieces

pytestmark = BROWSER_TEST

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_game(server: str):
    """A live game of the demo user's, as demo_tick makes them (bots until the demo has trained)."""
    from arena.services.demo import DEMO_USER
    from arena.services.matches import match_create
    from tests.factories import AgentFactory, UserFactory

    demo = UserFactory(username=DEMO_USER)
    AgentFactory(owner=demo, name="demo-dqn")
    AgentFactory(owner=UserFactory(username="lin"), name="lins-connect-four", game="connect_four")
    return match_create(
        user=demo,
        game="tictactoe",
        seats={"player_1": "bot:minimax", "player_2": "bot:random"},
        seed=5,
        move_delay=0.4,
        dispatch=False,
    )


def _play_in_thread(match_id: int) -> threading.Thread:
    """The worker's job in a thread of this process: each move written to the DB, then published."""
    from arena.services.matches import match_play

    def play() -> None:
        try:
            match_play(match_id=match_id)
        finally:
            connection.close()

    worker = threading.Thread(target=play, daemon=True)
    worker.start()
    return worker


def test_a_newcomer_is_shown_where_to_start_and_the_demo_game_live(server: str, demo_game, browser_page):
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/")
    steps = page.locator("[data-start] li")
    assert steps.count() == 3
    assert [steps.nth(i).locator("strong").inner_text() for i in range(3)] == [
        "1. Play the demo agent",
        "2. Watch a live game",
        "3. Train your own",
    ]
    assert "opponent=bot:minimax" in page.locator("[data-start-play]").get_attribute("href")
    assert page.locator("link[rel=icon]").count() == 1
    assert page.request.get(server + page.locator("link[rel=icon]").get_attribute("href")).ok
    demo = page.locator(f'[data-demo-match="{demo_game.pk}"]')
    demo.locator('[data-turn]:has-text("Waiting for a worker")').wait_for(timeout=15_000)  # snapshot drawn
    before = board_pieces(page)

    worker = _play_in_thread(demo_game.pk)
    seen = {before}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not demo.locator("[data-result]").inner_text().strip():
        seen.add(board_pieces(page))
        time.sleep(0.1)
    worker.join(10)
    page.screenshot(path=str(ARTIFACTS / "home-demo-finished.png"), full_page=True)
    assert len(seen) >= 3  # the board grew move by move, without a reload
    result = demo.locator("[data-result]").inner_text()
    assert "bot:minimax (player_1) wins" in result or result.startswith("Draw"), result
    # The recent list names the winner, not only the seat.
    page.locator("#matches .status.finished").wait_for(timeout=10_000)
    if "wins" in result:
        assert page.locator("#matches [data-winner]").first.inner_text() == "bot:minimax"
    assert errors == []


def test_the_lists_search_and_keep_the_search_in_their_links(server: str, demo_game, player):
    page = player.new_page()
    page.goto(server + "/agents/")
    assert "0 found" in page.locator("[data-count]").inner_text()  # grace has none: "mine" first
    page.get_by_role("link", name="All").click()
    assert page.locator("table.list tbody tr").count() == 2
    page.fill("input[name=q]", "connect")
    page.get_by_role("button", name="Search").click()
    assert page.locator("table.list tbody tr").count() == 1
    assert "lins-connect-four" in page.locator("table.list").inner_text()
    assert "q=connect" in page.url and "scope=all" in page.url
    page.screenshot(path=str(ARTIFACTS / "agents-search.png"), full_page=True)
    page.goto(server + "/matches/?scope=all&q=minimax")
    assert f"#{demo_game.pk}" in page.locator("table.list").inner_text()
    page.goto(server + "/runs/?scope=all")
    assert "No runs here" in page.inner_text("main")


@pytest.fixture
def phone_pages(server: str, demo_game) -> list[str]:
    from arena.services.tournaments import tournament_create

    tournament = tournament_create(
        user=demo_game.created_by,
        game="tictactoe",
        format="round_robin",
        participants=["bot:random", "bot:minimax", "bot:mcts:10"],
        start=False,
    )
    return ["/", "/play/", f"/matches/{demo_game.pk}/", f"/tournaments/{tournament.pk}/", "/matches/new/"]


def test_phone_sized_pages_never_scroll_sideways(server: str, phone_pages, session_cookie):
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
        context.add_cookies([session_cookie])
        try:
            page = context.new_page()
            for path in phone_pages:
                page.goto(server + path)
                page.wait_for_load_state("networkidle")
                widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
                name = path.strip("/").replace("/", "-") or "dashboard"
                page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
                assert widths[0] <= widths[1], (path, widths)
        finally:
            context.close()
            browser.close()
