"""A training run on a real Celery worker streams a sampled game, position by position, to its page's
group over the real Redis channel layer."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from arena.models import TrainingRun
from arena.services.training import training_run_create
from tests.arena.conftest import refreshed, socket_open, wait_until
from tests.factories import TINY_TRAINING

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_channel_layer")]

MOVES_PER_SECOND = 20


async def _first_whole_game(communicator, timeout: float = 120) -> list[tuple[float, dict]]:
    """The messages of the first sampled game seen from its start to its end, with arrival times."""
    games: dict[int, list[tuple[float, dict]]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await communicator.receive_json_from(timeout=timeout)
        if message.get("type") != "training_game":
            continue
        positions = games.setdefault(message["number"], [])
        positions.append((time.monotonic(), message))
        if message["ply"] == message["plies"] and positions[0][1]["ply"] == 0:
            return positions
    pytest.fail("no whole sampled game arrived")


async def test_a_training_run_streams_a_sampled_game_to_its_run_group(celery_worker, agent, user, settings):
    settings.ARENA_TRAINING_WATCH_MOVES_PER_SECOND = MOVES_PER_SECOND
    settings.ARENA_TRAINING_WATCH_SECONDS = 1.0
    run = await database_sync_to_async(training_run_create)(
        user=user, agent_id=agent.pk, config=TINY_TRAINING
    )
    communicator, snapshot = await socket_open(f"/ws/runs/{run.pk}/")
    assert snapshot["type"] == "snapshot"
    positions = await _first_whole_game(communicator)
    await communicator.disconnect()

    messages = [m for _, m in positions]
    plies = messages[-1]["plies"]
    assert [m["ply"] for m in messages] == list(range(plies + 1))  # every position, in order
    for m in messages:
        assert m["run_id"] == run.pk and m["render_hint"] == "tictactoe"
        assert m["state"]["ply"] == m["ply"]
        assert sum(cell != 0 for row in m["state"]["board"] for cell in row) == m["ply"]
        assert m["players"] == {"player_1": "this run (greedy)", "player_2": "this run (greedy)"}
    assert all(m["result"] is None for m in messages[:-1])
    assert messages[-1]["result"]["moves"] == messages[-1]["state"]["moves"]
    # Paced for the eye: one position every 1/MOVES_PER_SECOND seconds, not all at once.
    assert positions[-1][0] - positions[0][0] >= 0.8 * plies / MOVES_PER_SECOND

    await database_sync_to_async(wait_until)(
        lambda: refreshed(run).status not in TrainingRun.ACTIVE, timeout=180, message="the run to finish"
    )
    assert run.status == TrainingRun.COMPLETED, run.error
