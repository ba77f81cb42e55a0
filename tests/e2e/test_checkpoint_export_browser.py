"""A real browser: a trained checkpoint's page shows its provenance card; its export is downloaded,
imported on another agent's page, trained further there by a real worker, and the new version's page
names the imported checkpoint as its parent."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.arena.conftest import refreshed, wait_until
from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.factories import AgentFactory, UserFactory

pytestmark = BROWSER_TEST

ONE_EPOCH = {"env_steps": 200, "steps_per_epoch": 200, "num_envs": 2, "eval_games": 2, "seed": 1}


@pytest.fixture
def trained(server: str, session_cookie: dict, celery_worker, settings, tmp_path: Path):  # noqa: F811
    """Grace's agent trained one epoch by the worker, and a second agent of the same kind, empty.
    Made before the browser starts: Django refuses queries from a thread running an event loop."""
    from arena.models import TrainingRun
    from arena.services.training import training_run_create

    settings.MEDIA_ROOT = tmp_path / "media"  # where the server reads and writes
    settings.ARENA_CALIBRATION_BATCH_PAIRS = 4
    settings.ARENA_CALIBRATION_HALF_WIDTH = 5000.0  # one batch rates it: the page shows an interval soon
    grace = UserFactory(username="grace")
    origin = AgentFactory(owner=grace, name="origin", seat="player_1")
    run = training_run_create(user=grace, agent_id=origin.pk, config=ONE_EPOCH)
    wait_until(lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=180, message="the run")
    assert run.status == TrainingRun.COMPLETED, run.error
    elsewhere = AgentFactory(owner=grace, name="elsewhere", seat="player_1")
    return origin.latest_checkpoints()[0], run, elsewhere


def _api(server: str, path: str) -> dict:
    with urllib.request.urlopen(f"{server}/api{path}", timeout=10) as response:
        return json.load(response)


def test_a_checkpoint_export_is_reimported_and_trained_further(
    server: str, trained, player, tmp_path: Path
) -> None:
    checkpoint, run, elsewhere = trained
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page = player.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The provenance card of the trained checkpoint.
    page.goto(f"{server}/checkpoints/{checkpoint.pk}/")
    card = page.locator("[data-provenance]")
    assert "tictactoe_v3" in card.locator('[data-field="env_id"]').inner_text()
    assert "dqn" in card.locator('[data-field="algorithm"]').inner_text()
    assert f"run #{run.pk}" in card.locator('[data-field="run"]').inner_text()
    assert checkpoint.sha256 in card.locator('[data-field="sha256"]').inner_text()
    assert "torch" in card.locator('[data-field="versions"]').inner_text()
    card.locator("details summary", has_text="Training config").click()
    assert '"steps_per_epoch": 200' in card.locator('[data-field="train-config"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "checkpoint-provenance.png"), full_page=True)

    # Its export, downloaded as a person would.
    with page.expect_download() as download:
        card.locator("[data-export]").click()
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert archive.name == f"origin-player_1-v{checkpoint.version}.arena.zip" and archive.stat().st_size > 0

    # Imported on the other agent's page: it lands on the new checkpoint's page, which names its source.
    page.goto(f"{server}/agents/{elsewhere.pk}/")
    page.locator("summary", has_text="Import a checkpoint").click()
    page.locator('input[name="archive"]').set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    page.locator(".messages .success", has_text="Imported").wait_for(timeout=15_000)
    imported_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    source = page.locator('[data-field="imported-from"] a')
    assert source.get_attribute("href") == f"/checkpoints/{checkpoint.pk}/"
    assert _api(server, f"/checkpoints/{imported_id}")["sha256"] == checkpoint.sha256

    # Trained further from the agent page; the worker runs it.
    page.goto(f"{server}/agents/{elsewhere.pk}/")
    page.locator('input[name="env_steps"]').fill("200")
    extra = {k: v for k, v in ONE_EPOCH.items() if k not in ("env_steps", "seed")}
    page.locator('textarea[name="extra"]').fill(json.dumps(extra))
    page.get_by_role("button", name="Train").click()
    page.wait_for_url(f"{server}/runs/*/")
    deadline = time.monotonic() + 180
    while "Completed" not in page.locator('[data-field="status"]').inner_text():
        assert time.monotonic() < deadline, "the run did not complete"
        assert "Failed" not in page.locator('[data-field="status"]').inner_text(), page.content()[:2000]
        time.sleep(2)
        page.reload()

    # The new version's page: its parent is the imported checkpoint, in the card and the lineage.
    page.locator("section", has_text="Checkpoints written").locator(
        "a", has_text="elsewhere:player_1@v2"
    ).click()
    parent = page.locator('[data-field="parent"] a')
    assert parent.get_attribute("href") == f"/checkpoints/{imported_id}/"
    lineage = page.locator("[data-lineage]")
    assert lineage.locator(f'[data-node="{imported_id}"]').count() == 1
    assert "imported" in lineage.locator(f'[data-node="{imported_id}"]').inner_text()
    new_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    new = _api(server, f"/checkpoints/{new_id}")
    assert new["parent"] == imported_id and new["env_steps"] > checkpoint.env_steps
    assert "origin:player_1@v" in page.locator("[data-line-import]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "checkpoint-export-trained-further.png"), full_page=True)

    # On a phone the card folds to one column and nothing runs off the side.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "checkpoint-phone.png"), full_page=True)
    assert errors == []
