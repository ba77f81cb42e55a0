"""Seats in a real browser: the new-agent form offers only the chosen game's seats, and the play form,
opened from an agent page's checkpoint, seats you opposite the seat that checkpoint learned, following
the opponent you pick. Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def entrant(server: str, settings, tmp_path: Path):
    """A tic-tac-toe agent version with a checkpoint per seat, its files where the server looks."""
    settings.MEDIA_ROOT = tmp_path / "media"
    agent = AgentFactory(name="duo")
    return {
        s: CheckpointFactory(agent=agent, seat=s, version=1, seed=i) for i, s in enumerate(agent.game.seats)
    }


def _option_values(page, name: str) -> list[str]:
    return page.eval_on_selector_all(f"select[name={name}] option", "nodes => nodes.map(n => n.value)")


def test_forms_offer_a_games_own_seats_and_seat_you_opposite_the_checkpoint(
    server: str, entrant, player
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = player.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # New agent: picking connect four swaps tic-tac-toe's seats for connect four's.
    page.goto(f"{server}/agents/new/?game=tictactoe")
    assert _option_values(page, "seat") == ["", "player_1", "player_2"]
    page.select_option("select[name=game]", "connect_four")
    assert _option_values(page, "seat") == ["", "player_0", "player_1"]
    assert "player_0 (moves first)" in page.locator("select[name=seat]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "seats-agent-form.png"), full_page=True)

    # The agent page says which seat each checkpoint learned; its play link seats you opposite.
    agent = entrant["player_1"].agent
    page.goto(f"{server}/agents/{agent.pk}/")
    assert page.locator('td[data-seat="player_1"]').inner_text() == "player_1 (moves first)"
    page.screenshot(path=str(ARTIFACTS / "seats-agent-page.png"), full_page=True)
    row = page.locator("tr", has=page.locator('td[data-seat="player_1"]'))
    row.get_by_role("link", name="Play against this checkpoint").click()
    page.wait_for_url(re.compile(r"/play/\?"))
    assert page.locator("select[name=opponent]").input_value() == f"checkpoint:{entrant['player_1'].pk}"
    assert page.locator("select[name=seat]").input_value() == "player_2"
    hint = page.locator("#id_seat_helptext")
    assert hint.inner_text() == "This checkpoint learned player_1 and plays it: you take player_2."

    # Another opponent: the seat follows it.
    page.select_option("select[name=opponent]", f"checkpoint:{entrant['player_2'].pk}")
    assert page.locator("select[name=seat]").input_value() == "player_1"
    assert "learned player_2" in hint.inner_text()
    page.screenshot(path=str(ARTIFACTS / "seats-play-form.png"), full_page=True)
    page.select_option("select[name=opponent]", "bot:minimax")
    assert (
        "either seat" in hint.inner_text() and page.locator("select[name=seat]").input_value() == "player_1"
    )

    # And the game starts with the checkpoint in the seat it learned.
    page.select_option("select[name=opponent]", f"checkpoint:{entrant['player_2'].pk}")
    page.get_by_role("button", name="Start game").click()
    page.wait_for_url(re.compile(r"/play/\d+/$"))
    assert errors == []
