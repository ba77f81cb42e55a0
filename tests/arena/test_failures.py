"""A run that fails part way, or a match that cannot start, says what failed, where it stopped and the
last lines of its log, on its page (the run's in the API too) and on the agent's; no server path is shown."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from arena.models import Checkpoint, Match, TrainingRun
from arena.services.match_batches import matches_play_batch
from arena.services.matches import match_create, match_play
from arena.services.training import training_run_create, training_run_execute
from tests.arena.conftest import refreshed, socket_open, wait_until
from tests.factories import TINY_TRAINING, CheckpointFactory

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _execute_in_thread(run_id: int) -> threading.Thread:
    def run() -> None:
        try:
            training_run_execute(run_id=run_id, worker="failing-worker")
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_run_whose_disk_goes_away_reports_what_failed_where_it_stopped_and_its_log(
    agent, user, user_client
):
    run = training_run_create(user=user, agent_id=agent.pk, config=TINY_TRAINING)
    worker = _execute_in_thread(run.pk)
    wait_until(lambda: refreshed(run).env_steps_done > 0, timeout=180, message="epoch 1's progress")
    epoch_1 = run.env_steps_done  # a whole number of collects: 256 with these settings
    newest = Checkpoint.objects.filter(training_run=run).order_by("-pk").first()
    # The run's folder is replaced by a file: the next epoch's checkpoint cannot be written.
    out = Path(settings.MEDIA_ROOT) / "agents" / str(agent.pk) / f"run-{run.pk}"
    out.rename(out.with_name("moved-away"))
    out.write_text("not a folder")
    worker.join(180)

    run = refreshed(run)
    assert run.status == TrainingRun.FAILED
    failure = run.failure
    assert failure["what"].startswith(("FileExistsError", "NotADirectoryError")), failure["what"]
    assert failure["where"].startswith("marl/checkpoints.py:"), failure["where"]
    stopped = failure["stopped_at"]
    assert stopped["epoch"] == 1 and stopped["env_steps"] == epoch_1 and stopped["env_steps_total"] == 600
    assert stopped["checkpoint"] == Path(newest.path).stem
    assert (
        stopped["said"]
        == f"at {epoch_1} of 600 env steps, after epoch 1 (last checkpoint {newest.path.split('/')[-1].split('.')[0]})"
    )
    log = failure["log"]
    assert any(f"training run {run.pk} failed" in line for line in log), log
    assert "Traceback (most recent call last):" in log and log[-1] == failure["what"]
    assert not any(str(ROOT) in line or str(settings.MEDIA_ROOT) in line for line in log), log

    page = user_client.get(f"/runs/{run.pk}/").content.decode()
    assert "What failed" in page and "data-failure hidden" not in page
    assert f"It stopped <span data-failure-stopped>at {epoch_1} of 600 env steps, after epoch 1" in page
    assert f"training run {run.pk} failed" in page
    api = user_client.get(f"/api/runs/{run.pk}").json()
    assert api["failure"] == failure
    # The agent lists its failures.
    agent_page = user_client.get(f"/agents/{agent.pk}/").content.decode()
    listed = agent_page.split("<section data-failures>")[1].split("</section>")[0]
    row = listed.split(f'data-failure="run-{run.pk}"')[1].split("</tr>")[0]
    assert f"at {epoch_1} of 600 env steps, after epoch 1" in row
    assert failure["what"].split(":")[0] in listed


def test_a_run_that_completes_has_no_failure_report(agent, user, user_client):
    run = training_run_create(user=user, agent_id=agent.pk, config={**TINY_TRAINING, "env_steps": 200})
    _execute_in_thread(run.pk).join(180)
    run = refreshed(run)
    assert run.status == TrainingRun.COMPLETED and run.failure == {}
    assert "data-failure hidden" in user_client.get(f"/runs/{run.pk}/").content.decode()
    assert "No failed runs or matches." in user_client.get(f"/agents/{agent.pk}/").content.decode()


def _match_that_will_fail(agent, user) -> Match:
    checkpoint = CheckpointFactory(agent=agent, seat="player_1")
    match = match_create(
        user=user,
        game="tictactoe",
        seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
        seed=4,
        dispatch=False,
    )
    checkpoint.absolute_path().unlink()  # the disk lost it after the match was queued
    return match


def test_a_match_whose_checkpoint_file_is_gone_reports_what_failed_and_where(agent, user, user_client):
    match = _match_that_will_fail(agent, user)
    assert match_play(match_id=match.pk) == Match.FAILED

    failure = refreshed(match).failure
    assert failure["what"] == match.error
    assert str(settings.MEDIA_ROOT) not in failure["what"]
    assert failure["where"].startswith(("marl/", "arena/")), failure["where"]
    assert failure["stopped_at"] == {
        "ply": len(match.opening),
        "to_move": None,
        "said": f"after {len(match.opening)} moves, before the agents moved",
    }
    assert any(f"match {match.pk}: could not load its players" in line for line in failure["log"])
    assert not any(str(ROOT) in line or str(settings.MEDIA_ROOT) in line for line in failure["log"])
    page = user_client.get(f"/matches/{match.pk}/").content.decode()
    said = f"after {len(match.opening)} moves, before the agents moved"
    assert "What failed" in page and f"It stopped <span data-failure-stopped>{said}</span>" in page
    listed = user_client.get(f"/agents/{agent.pk}/").content.decode().split("<section data-failures>")[1]
    assert f'data-failure="match-{match.pk}"' in listed.split("</section>")[0]


@pytest.mark.usefixtures("private_channel_layer")
async def test_a_match_that_fails_while_watched_sends_its_report_to_the_page(agent, user):
    match = await database_sync_to_async(_match_that_will_fail)(agent, user)
    communicator, snapshot = await socket_open(f"/ws/matches/{match.pk}/")
    assert snapshot["match"]["failure"] is None and snapshot["match"]["error"] is None
    assert await database_sync_to_async(match_play)(match_id=match.pk) == Match.FAILED
    event = await communicator.receive_json_from(timeout=5)
    stored = await database_sync_to_async(refreshed)(match)

    # The report the page renders on a reload, whole, with the error it says first.
    assert event["event"] == "failed" and event["seq"] == stored.seq
    assert event["failure"] == stored.failure and event["failure"]["what"] == event["error"] == stored.error
    assert event["failure"]["stopped_at"]["said"].startswith("after ")
    # A page that reconnects (or opens now) gets it in the snapshot.
    await communicator.send_json_to({"type": "resync"})
    again = await communicator.receive_json_from(timeout=5)
    assert again["match"]["status"] == Match.FAILED
    assert again["match"]["failure"] == stored.failure and again["match"]["error"] == stored.error
    await communicator.disconnect()


def _batch_with_two_that_will_fail(agent, user) -> tuple[list[Match], Match]:
    """Two matches of a checkpoint whose file is gone after they were queued, and one of two bots."""
    checkpoint = CheckpointFactory(agent=agent, seat="player_1")
    seats = {"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"}
    broken = [match_create(user=user, game="tictactoe", seats=seats, seed=s, dispatch=False) for s in (4, 5)]
    checkpoint.absolute_path().unlink()
    bots = {"player_1": "bot:random", "player_2": "bot:random"}
    return broken, match_create(user=user, game="tictactoe", seats=bots, seed=6, dispatch=False)


@pytest.mark.usefixtures("private_channel_layer")
async def test_matches_that_fail_in_a_batch_each_send_their_failed_event_to_an_open_page(agent, user):
    broken, fine = await database_sync_to_async(_batch_with_two_that_will_fail)(agent, user)
    pages = [await socket_open(f"/ws/matches/{m.pk}/") for m in [*broken, fine]]
    counts = await database_sync_to_async(matches_play_batch)(
        match_ids=[m.pk for m in [*broken, fine]], dispatch=False
    )
    assert counts == {"finished": 1, "failed": 2}
    for match, (communicator, snapshot) in zip(broken, pages, strict=False):
        event = await communicator.receive_json_from(timeout=5)
        stored = await database_sync_to_async(refreshed)(match)
        assert stored.status == Match.FAILED and stored.error
        # Numbered next after what the page had, and as the row stores it: a resync finds no gap.
        assert event["event"] == "failed" and event["seq"] == snapshot["seq"] + 1 == stored.seq
        assert event["error"] == stored.error and event["match_id"] == match.pk
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(timeout=5)
        assert again["seq"] == event["seq"] and again["match"]["error"] == stored.error
    ended = await pages[-1][0].receive_json_from(timeout=5)  # the one that finished says so, no failure
    assert ended["event"] == "finished" and ended["match_id"] == fine.pk
    for communicator, _ in pages:
        await communicator.disconnect()
