"""A person plays poker against the always-call bot in a real browser: a Leduc hand to the showdown by
taps on a phone (the agent's card face down until then, in the page and in every socket frame), and a
no-limit hold'em hand by keys and clicks with a raise of a typed amount, an illegal amount refused
first. The finished hand's match page shows both hands. Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST, stored_states
from tests.e2e.test_play import _match_id, _my_turn_or_over

pytestmark = BROWSER_TEST

CHECK_OR_CALL = (
    '[data-poker-actions] button:is([data-move="check"], [data-move="call"], [data-move="check_call"])'
)


@pytest.fixture
def phone(session_cookie: dict, browser_page):
    """A signed-in phone: a touch screen, 390 pixels wide."""
    context = browser_page.browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    context.add_cookies([session_cookie])
    yield context
    context.close()


def _start(context, server: str, game: str, errors: list[str], frames: list[str]):
    """The play page of a new hand against bot:call in the first seat; every socket frame it receives
    is kept in `frames`."""
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.goto(f"{server}/play/?game={game}")
    page.select_option("select[name=opponent]", "bot:call")
    page.select_option("select[name=seat]", "player_0")
    page.get_by_role("button", name="Start game").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    return page


def _cards(page, where: str) -> list[str]:
    return [c.get_attribute("data-card") for c in page.locator(f"{where} [data-card]").all()]


def _history(page) -> list[str]:
    return page.locator("[data-history] li").all_inner_texts()


def _wait_for_reply(page, entries: int) -> None:
    """Until the history has more than `entries` lines and the page waits for no answer."""
    page.wait_for_function(
        """(entries) => document.querySelectorAll("[data-history] li").length > entries
                        && document.querySelector("[data-turn]").textContent !== "Sending your move…" """,
        arg=entries,
        timeout=15_000,
    )


def _before_the_end(frames: list[str]) -> list[str]:
    """The frames sent while the hand was running (up to the first that carries its end)."""
    out = []
    for frame in frames:
        message = json.loads(frame)
        state = message.get("state") or message.get("match", {}).get("state") or {}
        if state.get("result") is not None:
            break
        out.append(frame)
    return out


def test_a_leduc_hand_to_the_showdown_by_taps_with_the_agents_card_hidden_until_then(
    server: str, phone, celery_worker
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    frames: list[str] = []
    page = _start(phone, server, "leduc_holdem", errors, frames)
    mine = _cards(page, '[data-hand="player_0"]')
    assert len(mine) == 1 and mine != ["hidden"]
    pages_before: list[str] = []
    while _my_turn_or_over(page) == "turn":
        # While the hand runs the agent's card is a card back, and only legal actions are offered.
        assert _cards(page, '[data-hand="player_1"]') == ["hidden"]
        offered = page.locator("[data-poker-actions] button").all()
        assert offered and all(
            b.get_attribute("data-move") in ("call", "raise", "fold", "check") for b in offered
        )
        pages_before.append(page.content())
        if len(pages_before) == 1:
            page.screenshot(path=str(ARTIFACTS / "play-leduc-phone-turn.png"), full_page=True)
        before = len(_history(page))
        page.locator(CHECK_OR_CALL).tap()
        _wait_for_reply(page, before)

    # Neither folded: the showdown shows both cards, and the result is in chips.
    page.locator('[data-poker][data-over="true"]').wait_for()
    theirs = _cards(page, '[data-hand="player_1"]')
    assert len(theirs) == 1 and theirs != ["hidden"]
    assert page.locator("[data-outcome]").inner_text().startswith("Showdown")
    result = page.locator("[data-result]").inner_text()
    assert re.fullmatch(
        r"You win 2 chips!|The agent wins 2 chips\.|Split pot: no chips change hands\.", result
    )
    assert page.locator("[data-poker-actions] button").count() == 0
    assert len(_cards(page, "[data-board-cards]")) == 1
    assert page.locator("[data-history] section h4").all_inner_texts() == [
        "First round",
        "Second round, the board card out",
    ]
    page.screenshot(path=str(ARTIFACTS / "play-leduc-phone-showdown.png"), full_page=True)

    # Before the showdown the agent's card was in no page drawn and no frame received.
    card = theirs[0]
    assert pages_before and not any(f'data-card="{card}"' in html for html in pages_before)
    running = _before_the_end(frames)
    assert running and not any(f'"{card}"' in frame for frame in running)
    # After the hand the page fetches the snapshot (which may carry the agent's evaluation now) and
    # the hand's rating (a worker's message), then lets the socket go.
    page.locator('[data-live-status][data-state="closed"]').wait_for(timeout=30_000)
    kinds = [json.loads(frame)["type"] for frame in frames]
    assert "rating" in kinds and [k for k in kinds if k != "rating"][-1] == "snapshot"
    assert page.locator("[data-heat-caption]").inner_text() == "No evaluation of its moves to show."
    # A checkpoint's evaluation, when there is one, is listed by the actions' names.
    rows = page.evaluate(
        """async () => {
             const table = await import("/static/arena/poker_table.js");
             const node = document.createElement("div");
             table.renderPokerScores(node, "leduc_holdem", [0.5, -1.25, null, 0.1], 1);
             return [...node.querySelectorAll("tr")].map((tr) => tr.textContent);
           }"""
    )
    assert rows == ["call0.50", "raise ✓-1.25", "check0.10"]

    stored = stored_states(server, _match_id(page))
    final = stored["states"][-1]["poker"]
    assert stored["status"] == "finished" and final["showdown"]
    assert final["hands"] == {"player_0": mine, "player_1": theirs}

    # The match page (a spectator's, and the replay) draws the same table with both hands.
    page.goto(f"{server}/matches/{_match_id(page)}/")
    page.locator('[data-poker][data-over="true"]').wait_for()
    assert _cards(page, '[data-hand="player_0"]') == mine and _cards(page, '[data-hand="player_1"]') == theirs
    assert page.locator('[data-seat="player_1"] .seat-name').inner_text().startswith("bot:call")
    page.locator("[data-replay-slider]").fill("1")  # the replay after the first action
    assert page.locator("[data-history] li").count() == 1 and _cards(page, "[data-board-cards]") == []
    page.screenshot(path=str(ARTIFACTS / "match-leduc-replay.png"), full_page=True)
    assert errors == []


def test_a_no_limit_hand_with_a_typed_raise_by_keys_after_an_illegal_amount_is_refused(
    server: str, player
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    frames: list[str] = []
    page = _start(player, server, "texas_holdem_no_limit", errors, frames)
    assert _my_turn_or_over(page) == "turn"
    assert len(_cards(page, '[data-hand="player_0"]')) == 2
    assert _cards(page, '[data-hand="player_1"]') == ["hidden", "hidden"]
    sizes = sorted(
        int(b.get_attribute("data-amount"))
        for b in page.locator(
            '[data-poker-actions] button:is([data-move^="raise"], [data-move="all_in"])'
        ).all()
    )
    assert sizes, "no raise offered"

    # An amount that is no legal size, typed and sent by mouse: the server refuses it, naming the legal
    # sizes, and nothing changes.
    before = _history(page)
    page.fill("[data-raise-amount]", str(sizes[-1] + 1))
    page.locator("[data-raise-submit]").click()
    page.locator("[data-error]").get_by_text("is not a legal size here; legal:").wait_for(timeout=10_000)
    assert _history(page) == before and page.locator("[data-turn]").inner_text() == "Your move."

    # R puts the keyboard in the amount box; the smallest legal raise typed there, then Enter.
    raise_to = sizes[0]
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("r")
    assert page.evaluate("() => document.activeElement.hasAttribute('data-raise-amount')")
    page.keyboard.type(str(raise_to))
    page.screenshot(path=str(ARTIFACTS / "play-no-limit-raise.png"), full_page=True)
    page.keyboard.press("Enter")
    _wait_for_reply(page, len(before) + 1)
    assert re.fullmatch(r"You: (raise \d+ \((half )?the pot\)|all in: \d+)", _history(page)[len(before)])
    assert page.locator("[data-error]").inner_text() == ""

    # Then C (check or call) to the end: the always-call bot never folds, so it is a showdown. The
    # keyboard focus, lost while the agent moved, is back on the actions at each turn.
    while _my_turn_or_over(page) == "turn":
        assert page.evaluate("() => Boolean(document.activeElement.closest('[data-poker-actions]'))")
        entries = len(_history(page))
        page.keyboard.press("c")
        _wait_for_reply(page, entries)
    page.locator('[data-poker][data-over="true"]').wait_for()
    assert len(_cards(page, "[data-board-cards]")) == 5
    theirs = _cards(page, '[data-hand="player_1"]')
    assert len(theirs) == 2 and "hidden" not in theirs
    assert page.locator("[data-outcome]").inner_text().startswith("Showdown")
    assert re.fullmatch(
        r"You win \d+ chips!|The agent wins \d+ chips\.|Split pot: no chips change hands\.",
        page.locator("[data-result]").inner_text(),
    )
    page.screenshot(path=str(ARTIFACTS / "play-no-limit-showdown.png"), full_page=True)

    running = _before_the_end(frames)
    assert running and not any(f'"{card}"' in frame for frame in running for card in theirs)
    stored = stored_states(server, _match_id(page))
    final = stored["states"][-1]["poker"]
    assert stored["status"] == "finished" and final["showdown"]
    mine = [h for h in final["history"] if h["seat"] == "player_0"]
    assert mine[0]["action"] in ("raise_half_pot", "raise_pot", "all_in")
    assert final["bets"]["player_0"] >= raise_to

    # The next hand, seats swapped: a new deal, the agent's cards face down again.
    page.get_by_role("button", name="Next hand (seats swapped)").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert len(_cards(page, '[data-hand="player_1"]')) == 2 and "hidden" not in _cards(
        page, '[data-hand="player_1"]'
    )
    assert _cards(page, '[data-hand="player_0"]') == ["hidden", "hidden"]
    assert errors == []


def test_a_leduc_fold_by_key_keeps_the_agents_card_hidden_and_costs_the_blind(
    server: str, player, celery_worker
) -> None:
    errors: list[str] = []
    frames: list[str] = []
    page = _start(player, server, "leduc_holdem", errors, frames)
    assert _my_turn_or_over(page) == "turn"
    blind = int(page.locator('[data-bet="player_0"]').inner_text().split()[-1])
    page.keyboard.press("f")
    page.locator('[data-poker][data-over="true"]').wait_for(timeout=15_000)
    assert (
        page.locator("[data-outcome]").inner_text()
        == f"You folded: bot:call won {blind} chip{'s' if blind > 1 else ''}."
    )
    assert (
        page.locator("[data-result]").inner_text()
        == f"The agent wins {blind} chip{'s' if blind > 1 else ''}."
    )
    # A folded hand is never shown: the agent's card stays face down, in the page and in the replay.
    assert _cards(page, '[data-hand="player_1"]') == ["hidden"]
    page.locator('[data-live-status][data-state="closed"]').wait_for(timeout=30_000)
    stored = stored_states(server, _match_id(page))
    assert stored["states"][-1]["poker"]["hands"]["player_1"] is None
    assert errors == []
