"""A person plays an agent in a real browser against uvicorn: tic-tac-toe against perfect minimax by clicks
and keys (never a win for the person), connect four to the end, an illegal click refused on both sides,
and a reload that resumes the game. Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import json
import re
import time

import pytest

from marl.engines import find_engine
from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, board_pieces, chart_points, stored_states

pytestmark = BROWSER_TEST


def _start(context, server: str, game: str, opponent: str, seat: str, errors: list[str], page=None):
    page = page or context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/play/?game={game}")
    page.select_option("select[name=opponent]", opponent)
    page.select_option("select[name=seat]", seat)
    page.get_by_role("button", name="Start game").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    return page


def _my_turn_or_over(page) -> str:
    """Wait until the person is to move ("turn") or the game has ended ("over")."""
    page.wait_for_function(
        """() => document.querySelector("[data-turn]").textContent === "Your move."
                 || document.querySelector("[data-result]").textContent.trim() !== "" """,
        timeout=15_000,
    )
    return "over" if page.locator("[data-result]").inner_text().strip() else "turn"


def _match_id(page) -> int:
    return int(re.search(r"/play/(\d+)/", page.url).group(1))


def test_tictactoe_against_minimax_by_clicks_and_keys(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = _start(player, server, "tictactoe", "bot:minimax", "player_1", errors)
    assert board_pieces(page) == 0 and page.locator("[data-board] rect.target.legal").count() == 9

    # The first move by keyboard: focus the board, go right (column 2), then down (row 2): the centre.
    page.locator('[data-board] rect.target[tabindex="0"]').focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Row 2, column 2")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length === 2")
    assert page.locator("[data-heat] [data-heat-cell]").count() == 9  # minimax's values, per cell
    page.screenshot(path=str(ARTIFACTS / "play-tictactoe-thinking.png"), full_page=True)

    # Then clicks on the first legal cell until the game ends.
    while _my_turn_or_over(page) == "turn":
        before = board_pieces(page)
        page.locator("[data-board] rect.target.legal").first.click()
        page.wait_for_function(
            f"""() => document.querySelectorAll('[data-board] [data-piece]').length > {before}
                      && document.querySelector("[data-turn]").textContent !== "Sending your move…" """
        )
    result = page.locator("[data-result]").inner_text()
    assert result.startswith(("Draw", "The agent wins")), result  # perfect play never loses
    page.locator("[data-rematch]").wait_for(state="visible")
    assert chart_points(page, "win").get("agent's win probability", 0) > 0  # the win-probability line
    page.screenshot(path=str(ARTIFACTS / "play-tictactoe-end.png"), full_page=True)

    stored = stored_states(server, _match_id(page))
    assert stored["status"] == "finished" and board_pieces(page) == len(stored["states"][-1]["moves"])

    # Rematch: same opponent, seats swapped, so minimax opens.
    page.locator("[data-rematch] button").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert board_pieces(page) == 1 and page.locator("[data-turn]").inner_text() == "Your move."
    assert errors == []


def test_a_reply_lost_on_its_way_is_fetched_and_the_game_goes_on(server: str, player) -> None:
    # Between the real server and the page, the agent's first reply is dropped, as the channel layer
    # can drop a message: the page, with no answer to its move, fetches the game as it stands.
    errors: list[str] = []
    sent: list[dict] = []
    dropped: list[dict] = []
    page = player.new_page()

    def route(ws) -> None:
        server_ws = ws.connect_to_server()

        def from_server(message) -> None:
            frame = json.loads(message)
            if not dropped and frame.get("event") == "move" and frame.get("seat") == "player_2":
                dropped.append(frame)
                return
            ws.send(message)

        def from_page(message) -> None:
            sent.append(json.loads(message))
            server_ws.send(message)

        server_ws.on_message(from_server)
        ws.on_message(from_page)

    page.route_web_socket(re.compile(r"/ws/play/"), route)
    page = _start(player, server, "tictactoe", "bot:minimax", "player_1", errors, page=page)
    page.locator("[data-board] rect.target.legal").first.click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-board] [data-piece]').length === 2", timeout=15_000
    )
    assert dropped and [m["type"] for m in sent] == ["move", "resync"]
    assert _my_turn_or_over(page) == "turn" and page.locator("[data-error]").inner_text() == ""
    page.locator("[data-board] rect.target.legal").first.click()  # and the game goes on
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length === 4")
    assert errors == []


def test_a_lost_last_event_shows_at_the_next_keep_alive_and_the_page_fetches_the_end(
    server: str, player
) -> None:
    # The end of the game (a resignation) is dropped on its way: no later event shows a gap, but the
    # keep-alive's answer carries the match's latest event number, and the page resyncs.
    errors: list[str] = []
    sent: list[str] = []
    page = player.new_page()
    page.clock.install()  # the keep-alive runs every 25 s: fast-forwarded below

    def route(ws) -> None:
        server_ws = ws.connect_to_server()
        server_ws.on_message(lambda m: None if json.loads(m).get("event") == "finished" else ws.send(m))
        ws.on_message(lambda m: (sent.append(json.loads(m)["type"]), server_ws.send(m)))

    page.route_web_socket(re.compile(r"/ws/play/"), route)
    page.on("dialog", lambda dialog: dialog.accept())
    page = _start(player, server, "tictactoe", "bot:minimax", "player_1", errors, page=page)
    page.locator("[data-resign]").click()
    page.wait_for_timeout(1000)
    assert page.locator("[data-result]").inner_text().strip() == ""  # the page never heard of the end
    page.clock.fast_forward("00:30")
    page.locator("[data-result]").get_by_text("resigned", exact=False).wait_for(timeout=10_000)
    assert sent[:3] == ["resign", "ping", "resync"] and errors == []


def test_connect_four_to_the_end_on_a_phone(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = _start(player, server, "connect_four", "bot:alphabeta", "player_0", errors)
    page.set_viewport_size({"width": 390, "height": 844})
    moves = 0
    while _my_turn_or_over(page) == "turn" and moves < 30:
        before = board_pieces(page)
        page.locator("[data-board] rect.target.legal").first.click()
        page.wait_for_function(
            f"""() => document.querySelectorAll('[data-board] [data-piece]').length > {before}
                      && document.querySelector("[data-turn]").textContent !== "Sending your move…" """
        )
        moves += 1
    assert page.locator("[data-result]").inner_text().strip(), "the game did not end"
    assert page.locator("[data-heat] [data-heat-cell]").count() == 7  # one per column
    page.screenshot(path=str(ARTIFACTS / "play-connect-four-phone.png"), full_page=True)
    stored = stored_states(server, _match_id(page))
    assert stored["status"] == "finished"
    assert board_pieces(page) == len(stored["states"][-1]["moves"])
    assert errors == []


def test_an_illegal_click_is_refused_and_a_reload_resumes(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = _start(player, server, "tictactoe", "bot:minimax", "player_1", errors)
    page.locator('[data-board] rect.target[data-action="4"]').click()
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length === 2")
    _my_turn_or_over(page)
    match_id = _match_id(page)
    before = stored_states(server, match_id)["states"][-1]

    # Client side: a click on a taken cell (aria-disabled, so Playwright must force it) sends nothing.
    page.locator('[data-board] rect.target[data-action="4"]').click(force=True)
    assert page.locator("[data-error]").inner_text() == "That cell is taken."
    assert board_pieces(page) == 2

    # Server side: the same move sent straight down a second socket is refused with a code.
    error = page.evaluate(
        """(id) => new Promise((resolve) => {
             const ws = new WebSocket(`ws://${location.host}/ws/play/${id}/`);
             ws.onmessage = (frame) => {
               const msg = JSON.parse(frame.data);
               if (msg.type === "snapshot") ws.send(JSON.stringify({type: "move", ply: msg.match.moves.length, move: 4}));
               else if (msg.type === "error") { ws.close(); resolve(msg); }
             };
           })""",
        match_id,
    )
    assert error["code"] == "illegal_move", error
    time.sleep(0.5)  # nothing was published: the board stays
    assert board_pieces(page) == 2 and stored_states(server, match_id)["states"][-1] == before
    page.screenshot(path=str(ARTIFACTS / "play-illegal-click.png"), full_page=True)

    # A reload shows the game where it stood, the agent's evaluation included.
    page.reload()
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert board_pieces(page) == 2 and page.locator("[data-turn]").inner_text() == "Your move."
    assert page.locator("[data-heat] [data-heat-cell]").count() == 9
    last = page.locator("[data-board] .last").count() + page.locator("[data-board] .last-disc").count()
    assert last == 1  # the agent's reply is marked
    page.screenshot(path=str(ARTIFACTS / "play-resumed.png"), full_page=True)
    assert errors == []


@pytest.mark.skipif(find_engine("gnugo") is None, reason="GNU Go is not installed (make install-engines)")
def test_go_against_gnugo_points_by_click_and_key_a_pass_and_an_illegal_point(server: str, player) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = _start(player, server, "go9", "bot:gnugo", "black_0", errors)
    assert page.locator("[data-board] rect.target.legal").count() == 81
    assert page.locator("[data-board] text.go-coord").count() == 18  # A-J without I, 9 to 1

    # A click on E5 (action 40), then GNU Go's reply, ringed as the last move.
    page.locator('[data-board] rect.target[data-action="40"]').click()
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length === 2")
    _my_turn_or_over(page)
    assert page.locator("[data-board] [data-last-move]").count() == 1

    # A point by keyboard: from the focused point, one step right, then Enter.
    page.locator('[data-board] rect.target[tabindex="0"]').focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-board] [data-piece]').length >= 4")
    _my_turn_or_over(page)

    # A taken point is refused on the page and nothing is sent.
    page.locator('[data-board] rect.target[data-action="40"]').click(force=True)
    assert page.locator("[data-error]").inner_text().startswith("That point is not playable")

    # The Pass button: GNU Go answers and the move list holds the pass.
    stones = board_pieces(page)
    page.locator("[data-pass]").click()
    page.wait_for_function(
        "() => document.querySelector('[data-go-info]').textContent.includes('last move')"
        " && document.querySelector('[data-turn]').textContent !== 'Sending your move…'"
    )
    _my_turn_or_over(page)
    stored = stored_states(server, _match_id(page))
    moves = stored["states"][-1]["moves"]
    assert 81 in moves and board_pieces(page) >= stones
    page.screenshot(path=str(ARTIFACTS / "play-go.png"), full_page=True)

    # The same taken point sent straight down a socket is refused with a code.
    error = page.evaluate(
        """(id) => new Promise((resolve) => {
             const ws = new WebSocket(`ws://${location.host}/ws/play/${id}/`);
             ws.onmessage = (frame) => {
               const msg = JSON.parse(frame.data);
               if (msg.type === "snapshot") ws.send(JSON.stringify({type: "move", ply: msg.match.moves.length, move: {row: 4, col: 4}}));
               else if (msg.type === "error") { ws.close(); resolve(msg); }
             };
           })""",
        _match_id(page),
    )
    assert error["code"] == "illegal_move" and "E5" in error["error"], error
    assert errors == []
