"""What the browser tests share: where Chromium and the screenshots are, the marks that skip them
without Chromium, and two reads of a game (the server's stored states, the pieces a page draws)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # gitignored

BROWSER_TEST = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to drive"),
]


def stored_states(server: str, match_id: int) -> dict:
    """The match as the server stores it, over HTTP: Playwright's thread runs an event loop, and Django
    refuses ORM queries from a thread with a running loop."""
    with urllib.request.urlopen(f"{server}/matches/{match_id}/replay.json", timeout=5) as response:
        return json.load(response)


def board_pieces(page) -> int:
    """How many pieces the page's board draws."""
    return page.locator("[data-board] [data-piece]").count()


def chart_points(page, chart: str) -> dict[str, int]:
    """How many points each series of the `data-chart=<chart>` chart draws (the chart's `data-points`),
    and the chart must have drawn them on a canvas."""
    node = page.locator(f'[data-chart="{chart}"]')
    if not node.locator("canvas").count():
        return {}
    return json.loads(node.get_attribute("data-points") or "{}")


def wait_for_points(page, chart: str, series: str, count: int, timeout: float = 10_000) -> None:
    page.wait_for_function(
        """([chart, series, count]) => {
             const node = document.querySelector(`[data-chart="${chart}"]`);
             return node && node.querySelector("canvas")
               && (JSON.parse(node.dataset.points || "{}")[series] || 0) === count;
           }""",
        arg=[chart, series, count],
        timeout=timeout,
    )
