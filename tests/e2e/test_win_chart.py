"""The play page's win probability in a real browser: tic-tac-toe's line is the exact value of each
position, on whole move numbers and a 0-to-1 axis; connect four's heat map reads at normal size.
Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import json
import re

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, chart_points

pytestmark = BROWSER_TEST


def _start(context, server: str, game: str, opponent: str, seat: str):
    page = context.new_page()
    page.goto(f"{server}/play/?game={game}")
    page.select_option("select[name=opponent]", opponent)
    page.select_option("select[name=seat]", seat)
    page.get_by_role("button", name="Start game").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    return page


def _play(page, action: int, pieces: int) -> None:
    """Click `action` and wait for the agent's reply (`pieces` on the board after it)."""
    page.locator(f'[data-board] rect.target[data-action="{action}"]').click()
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-board] [data-piece]').length >= {pieces}"
        """ && document.querySelector("[data-turn]").textContent !== "Sending your move…" """
    )


def test_the_win_line_is_exact_on_whole_moves_and_a_zero_to_one_axis(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = _start(player, server, "tictactoe", "bot:minimax", "player_1")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _play(page, 1, 2)  # an edge: minimax takes the centre, a draw with best play
    move = next(a for a in (0, 2, 6, 8, 3, 5, 7) if page.locator(f'[data-action="{a}"].legal').count())
    _play(page, move, 4)
    assert chart_points(page, "win") == {"agent's win probability": 2}
    ticks = json.loads(page.locator('[data-chart="win"]').get_attribute("data-ticks"))
    assert all(float(x).is_integer() for x in ticks["x"]), ticks  # moves 2 and 4, never 2.5
    assert min(ticks["y"]) == 0 and max(ticks["y"]) == 1, ticks  # the axis is pinned to 0..1
    assert page.locator("[data-win-source]").inner_text().startswith("A draw counts half; exact")
    page.screenshot(path=str(ARTIFACTS / "play-win-chart.png"), full_page=True)
    assert errors == []


def test_the_connect_four_heat_map_reads_at_normal_size(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = _start(player, server, "connect_four", "bot:alphabeta", "player_0")
    _play(page, 3, 2)
    heat = page.locator("[data-heat] svg")
    heat.wait_for()
    size = page.evaluate(
        """() => {
             const text = document.querySelector("[data-heat] svg text");
             return {px: text.getBoundingClientRect().height,
                     width: document.querySelector("[data-heat] svg").getBoundingClientRect().width};
           }"""
    )
    assert size["width"] >= 350 and size["px"] >= 13, size  # about the page's own text size
    # A heuristic search gives no probability: the page says why there is no line.
    assert "no calibrated value" in page.locator("[data-win-source]").inner_text()
    page.locator("[data-heat]").screenshot(path=str(ARTIFACTS / "play-connect-four-heat.png"))
