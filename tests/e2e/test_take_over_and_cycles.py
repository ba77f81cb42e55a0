"""Two views in a real browser: taking over a finished match from move 3, and the leaderboard's
who-beats-whom matrix on a pool with a known cycle. Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, board_pieces

pytestmark = BROWSER_TEST


@pytest.fixture
def finished_match(server: str):
    """minimax (player_1) against random (player_2), played to its end; made before the browser starts."""
    from tests.factories import match_finished

    match = match_finished(seed=4)
    assert len(match.moves) > 4
    return match


@pytest.fixture
def cyclic_pool(server: str) -> dict[str, str]:
    """Three checkpoints in a cycle (a beats b beats c beats a) that all beat random; their labels."""
    from tests.factories import UserFactory, cyclic_rated_pool

    players = cyclic_rated_pool(UserFactory(username="ada"))
    return {name: player.label for name, player in players.items()}


def test_a_finished_match_is_taken_over_from_move_3_against_the_same_bot(
    server: str, finished_match, player, celery_worker
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = player.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/matches/{finished_match.pk}/")
    page.fill("[data-take-over-ply]", "3")
    page.screenshot(path=str(ARTIFACTS / "take-over-replay.png"), full_page=True)
    # After three moves it is player_2's turn: the person takes the seat random played, against minimax.
    page.locator('[data-take-over-seat="player_2"]').click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    play_url = page.url
    # What the page asks the server for from here (the moves go over the socket).
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    assert board_pieces(page) == 3 and page.locator("[data-turn]").inner_text() == "Your move."
    source = page.locator("[data-taken-over-from]").inner_text()
    assert f"match #{finished_match.pk}" in source and "at move 3" in source

    # A move of one's own: minimax answers from the taken-over position.
    page.locator("[data-board] rect.target.legal").first.click()
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length >= 5")
    page.screenshot(path=str(ARTIFACTS / "take-over-playing.png"), full_page=True)
    assert "none yet" in page.locator("[data-my-rating]").inner_text()

    # Played to the end (the first legal cell each time): the line that won is marked, and the rating
    # the game earned shows without a reload: a worker rates the game and its `rating` message
    # carries the new line: no page is fetched again.
    while page.locator("[data-turn]").inner_text() == "Your move.":
        before = board_pieces(page)
        page.locator("[data-board] rect.target.legal").first.click()
        page.wait_for_function(
            f"""() => document.querySelectorAll('[data-board] [data-piece]').length > {before}
                      && document.querySelector("[data-turn]").textContent !== "Sending your move…" """
        )
    page.locator("[data-rematch]").wait_for(state="visible")
    result = page.locator("[data-result]").inner_text()
    line = page.locator("[data-board] [data-win-line]")
    if result.startswith("Draw"):
        assert line.count() == 0
    else:
        assert line.count() == 1 and len(line.get_attribute("data-win-line").split()) == 3
    page.wait_for_function(
        "() => !document.querySelector('[data-my-rating]').textContent.includes('none yet')"
    )
    assert (
        "provisional" in page.locator("[data-my-rating]").inner_text()
        or "Elo" in page.locator("[data-my-rating]").inner_text()
    )
    assert play_url not in requests, requests
    page.screenshot(path=str(ARTIFACTS / "take-over-end.png"), full_page=True)
    assert errors == []


def test_the_leaderboard_orders_a_cyclic_pool_by_alpharank_and_names_the_cycle(
    server: str, cyclic_pool: dict[str, str], player
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = player.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/games/tictactoe/leaderboard/")
    matrix = page.locator("[data-payoff-matrix]")
    matrix.scroll_into_view_if_needed()
    assert matrix.is_visible()
    rows = page.locator("[data-payoff-player]")
    assert rows.count() == 4
    # The three in the cycle share α-Rank's mass (1/3 each); random, which all of them beat, keeps none.
    order = [rows.nth(i).get_attribute("data-payoff-player") for i in range(4)]
    assert order[-1] == cyclic_pool["random"]
    masses = [float(rows.nth(i).locator("[data-mass]").inner_text()) for i in range(4)]
    assert masses[:3] == pytest.approx([1 / 3] * 3, abs=2e-3) and masses[3] == pytest.approx(0, abs=2e-3)
    cycles = page.locator("[data-cycle]")
    assert cycles.count() == 1
    text = cycles.first.inner_text()
    assert all(cyclic_pool[name] in text for name in "abc") and text.count(" beats ") == 3
    page.screenshot(path=str(ARTIFACTS / "leaderboard-cycle.png"), full_page=True)
    assert errors == []
