"""A person plays chess against Stockfish in a real browser: a game set up by an opening typed in UCI, a
promotion chosen by keyboard, moves by clicks, a refused click, and the moves listed in SAN."""

from __future__ import annotations

import re

import pytest

from marl.engines import find_engine
from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, board_pieces, stored_states
from tests.e2e.test_play import _match_id, _my_turn_or_over

pytestmark = [
    *BROWSER_TEST,
    pytest.mark.skipif(
        find_engine("stockfish") is None, reason="Stockfish is not installed (make install-engines)"
    ),
]
# White's pawn ends on b7 with the rook on a8 to take: promotion next (three black pieces gone: 29 left).
PROMOTION_READY = "a2a4 b7b5 a4b5 a7a6 b5a6 c8b7 a6b7 g8f6"


def _sans(page) -> list[str]:
    return " ".join(page.locator("[data-san-list] li").all_inner_texts()).split()


def _wait_for_reply(page, sans: int) -> None:
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('[data-san-list] li')]
                    .map((li) => li.textContent).join(" ").split(" ").length >= {sans}
                  && document.querySelector("[data-turn]").textContent !== "Sending your move…" """,
        timeout=20_000,
    )


def test_chess_against_stockfish_with_a_promotion_by_keyboard_and_moves_by_clicks(
    server: str,
    player,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = player.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/play/?game=chess")
    page.select_option("select[name=opponent]", "bot:stockfish:0")
    page.select_option("select[name=seat]", "player_0")
    page.fill("input[name=opening]", PROMOTION_READY)
    page.get_by_role("button", name="Start game").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert board_pieces(page) == 29 and _sans(page) == [
        "a4",
        "b5",
        "axb5",
        "a6",
        "bxa6",
        "Bb7",
        "axb7",
        "Nf6",
    ]
    assert page.locator("[data-board] .sq.last").count() == 2  # g8 and f6

    # A black piece cannot be picked: refused in the page, nothing sent.
    page.locator('[data-board] rect.target[data-square="d7"]').click(force=True)
    assert page.locator("[data-error]").inner_text() == "That is not a legal move here."

    # By keyboard from e2: left three and up five to b7, Enter; left and up to a8, Enter; then the
    # promotion buttons take the focus and Enter on the first promotes to a queen.
    page.locator('[data-board] rect.target[tabindex="0"]').focus()
    for key in ["ArrowLeft"] * 3 + ["ArrowUp"] * 5:
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "b7, white pawn"
    page.keyboard.press("Enter")
    assert page.locator("[data-board] rect.target.dest").count() == 1  # a8: taking the rook
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.locator("[data-promotion]").count() == 4
    assert page.evaluate("document.activeElement.dataset.promotion") == "q"
    page.screenshot(path=str(ARTIFACTS / "play-chess-promotion.png"), full_page=True)
    page.keyboard.press("Enter")
    _wait_for_reply(page, 10)
    assert _sans(page)[8] == "bxa8=Q" and page.locator('[data-board] [data-piece="wq"]').count() == 2

    # Two more moves by clicks: a piece that can move, then its first destination.
    for move in range(2):
        if _my_turn_or_over(page) == "over":
            break
        page.locator("[data-board] rect.target.legal").first.click()
        page.locator("[data-board] rect.target.dest").first.click()
        promotion = page.locator("[data-promotion]")
        if promotion.count():
            promotion.first.click()
        _wait_for_reply(page, 12 + 2 * move)
    page.screenshot(path=str(ARTIFACTS / "play-chess.png"), full_page=True)
    stored = stored_states(server, _match_id(page))
    final = stored["states"][-1]
    assert final["san"] == _sans(page) and len(final["moves"]) >= 12
    assert errors == []


@pytest.mark.parametrize("opening", ["e2e4 e7e4"])
def test_an_illegal_opening_is_refused_on_the_form(
    server: str,
    player,
    opening: str,
) -> None:
    page = player.new_page()
    page.goto(f"{server}/play/?game=chess")
    page.select_option("select[name=opponent]", "bot:random")
    page.fill("input[name=opening]", opening)
    page.get_by_role("button", name="Start game").click()
    page.get_by_text("opening move 2 ('e7e4')").wait_for(timeout=10_000)
    assert "/play/" in page.url and not re.search(r"/play/\d+/$", page.url)
