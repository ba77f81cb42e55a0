"""A training run on a real Celery worker tells its run page's group about each checkpoint it stores,
with what the page's list shows of it, over the real Redis channel layer."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from arena.models import Checkpoint, TrainingRun
from arena.services.checkpoints import checkpoint_record
from arena.services.training import training_run_create
from tests.arena.conftest import refreshed, socket_open, wait_until
from tests.factories import TINY_TRAINING

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_channel_layer")]


async def _checkpoint_messages(communicator, run: TrainingRun, timeout: float = 180) -> list[dict]:
    """The run group's checkpoint messages until the run's final status arrives."""
    messages, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await communicator.receive_json_from(timeout=timeout)
        if message.get("type") == "checkpoint":
            messages.append(message)
        if message.get("type") == "stats" and message["status"] not in TrainingRun.ACTIVE:
            return messages
    pytest.fail("the run did not finish")


def _rows(run: TrainingRun) -> dict[int, dict]:
    """Each checkpoint as the run page's list and the agent page's table show it."""
    rows = {}
    for cp in Checkpoint.objects.filter(training_run=run).select_related("agent__game"):
        other = "player_2" if cp.seat == "player_1" else "player_1"
        rows[cp.pk] = {
            "id": cp.pk,
            "seat": cp.seat,
            "seat_label": "player_1 (moves first)" if cp.seat == "player_1" else "player_2",
            "version": cp.version,
            "env_steps": cp.env_steps,
            "label": f"{cp.agent.name}:{cp.seat}@v{cp.version}",
            "metrics": cp.metrics,
            "calibration_status": "pending",
            "url": f"/checkpoints/{cp.pk}/",
            "weights_url": reverse("checkpoint_download", args=[cp.pk, "weights"]),
            "sidecar_url": reverse("checkpoint_download", args=[cp.pk, "sidecar"]),
            "export_url": reverse("checkpoint_export", args=[cp.pk]),
            "opponent_seat": other,
            "play_url": f"/play/?game={cp.agent.game.name}&opponent=checkpoint%3A{cp.pk}&seat={other}",
            "match_url": f"/matches/new/?game={cp.agent.game.name}&checkpoint={cp.pk}",
        }
    return rows


async def test_each_checkpoint_a_run_stores_is_published_to_its_run_group_as_its_list_row(
    celery_worker, agent, user
):
    run = await database_sync_to_async(training_run_create)(
        user=user, agent_id=agent.pk, config=TINY_TRAINING
    )
    communicator, snapshot = await socket_open(f"/ws/runs/{run.pk}/")
    assert snapshot["type"] == "snapshot"
    assert snapshot["checkpoints"] == []
    messages = await _checkpoint_messages(communicator, run)
    # A page that reconnects (or opens now) gets the list in its snapshot, as the page lists it.
    await communicator.send_json_to({"type": "resync"})
    again = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    await database_sync_to_async(wait_until)(
        lambda: refreshed(run).status not in TrainingRun.ACTIVE, message="the run to finish"
    )
    assert run.status == TrainingRun.COMPLETED, run.error

    rows = await database_sync_to_async(_rows)(run)
    assert len(rows) == 6  # three epochs, two learning seats
    assert all(m["run_id"] == run.pk for m in messages)
    assert {m["checkpoint"]["id"]: m["checkpoint"] for m in messages} == rows
    listed = sorted(rows.values(), key=lambda cp: (cp["seat"], -cp["version"]))
    assert again["type"] == "snapshot" and again["checkpoints"] == listed
    # In the order they were stored: each seat's versions count up, steps with them.
    for seat in ("player_1", "player_2"):
        mine = [m["checkpoint"] for m in messages if m["checkpoint"]["seat"] == seat]
        assert [cp["version"] for cp in mine] == [1, 2, 3]
        assert [cp["env_steps"] for cp in mine] == sorted(cp["env_steps"] for cp in mine)


async def test_a_recorded_checkpoint_reaches_its_agent_group_with_the_row_the_agent_page_draws(media_root):
    from tests.factories import TrainingRunFactory, _untrained_checkpoint_file

    run = await database_sync_to_async(TrainingRunFactory)()
    path = await database_sync_to_async(_untrained_checkpoint_file)(run.agent, "player_2", 1, 0, 64)
    communicator, _ = await socket_open(f"/ws/agents/{run.agent_id}/")
    checkpoint = await database_sync_to_async(checkpoint_record)(
        run_id=run.pk, seat="player_2", path=path, meta={"env_steps": 64}
    )
    message = await communicator.receive_json_from(timeout=5)
    while message.get("type") != "checkpoint":
        message = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    rows = await database_sync_to_async(_rows)(run)
    assert message["agent_id"] == run.agent_id and message["checkpoint"]["id"] == checkpoint.pk
    assert message["row"] == rows[checkpoint.pk]  # every cell of the agent page's table
