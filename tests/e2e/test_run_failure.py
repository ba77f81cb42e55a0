"""A failed run on its page: the report (what failed, where it stopped, the last lines of its log)
appears live, without a reload, when the run's disk goes away under it.

Screenshot: artifacts/run-failed.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import ARTIFACTS, BROWSER_TEST
from tests.e2e.test_training_live import _in_thread
from tests.factories import TINY_TRAINING, AgentFactory, UserFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def queued_run(server: str, settings, tmp_path: Path):
    from arena.services.training import training_run_create

    settings.MEDIA_ROOT = tmp_path / "media"
    user = UserFactory(username="ada")
    agent = AgentFactory(owner=user, name="breaks")
    return training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)


def test_a_failed_run_shows_what_failed_where_it_stopped_and_its_log(
    server: str, queued_run, browser_page, settings
) -> None:
    from arena.services.training import training_run_execute

    ARTIFACTS.mkdir(exist_ok=True)
    run = queued_run
    errors: list[str] = []
    page = browser_page.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/runs/{run.pk}/")
    page.locator('[data-live-status][data-state="live"]').wait_for(timeout=15_000)
    assert page.locator("[data-failure]").is_hidden()

    trainer = _in_thread(lambda: training_run_execute(run_id=run.pk, worker="e2e-worker"))
    # Epoch 1's progress reached the page: now the run's folder is replaced by a file.
    page.locator(".status", has_text="running").wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-field=steps]').textContent.startsWith('0/')")
    out = Path(settings.MEDIA_ROOT) / "agents" / str(run.agent_id) / f"run-{run.pk}"
    out.rename(out.with_name("moved-away"))
    out.write_text("not a folder")
    trainer.join(120)

    report = page.locator("[data-failure]")
    report.wait_for(state="visible", timeout=15_000)
    assert page.locator(".status", has_text="failed").count() == 1
    assert page.locator("[data-run-error]").is_hidden()  # the report says it, without a server path
    assert report.locator("[data-failure-what]").inner_text().startswith(("FileExistsError", "NotADirectory"))
    assert report.locator("[data-failure-stopped]").inner_text().startswith("at ")
    assert "after epoch 1" in report.locator("[data-failure-stopped]").inner_text()
    assert report.locator("[data-failure-where]").inner_text().startswith("marl/checkpoints.py:")
    log = report.locator("[data-failure-log]").inner_text()
    assert f"training run {run.pk} failed" in log and "Traceback" in log
    report.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "run-failed.png"), full_page=True)
    assert errors == []
