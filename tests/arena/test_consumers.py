"""The WebSocket consumers against the real ASGI stack (origin check, auth) and the real Redis layer."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from arena import live
from arena.asgi import application
from arena.models import Match, TrainingRun, TrainingStat
from tests.arena.conftest import SAME_ORIGIN, socket_open
from tests.factories import MatchFactory, TrainingRunFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_channel_layer")]


@pytest.fixture
def match() -> Match:
    # From the empty board: these tests make the moves themselves.
    return MatchFactory(seed=7, opening_plies=0)


@database_sync_to_async
def _db_snapshot(match_id: int) -> dict:
    return live.match_snapshot(Match.objects.get(pk=match_id))


@database_sync_to_async
def _play_two_moves(match_id: int) -> list[dict]:
    """What the worker does: write the row, then publish; returns the events published."""
    from marl.match import MatchState

    match = Match.objects.select_related("game").get(pk=match_id)
    state = MatchState("tictactoe", seed=match.seed)
    events = []
    for action in (4, 0):
        state.apply(action)
        match.moves.append(action)
        match.seq += 1
        Match.objects.filter(pk=match.pk).update(seq=match.seq, moves=match.moves, status=Match.RUNNING)
        event = live.match_event(
            match_id=match.pk, seq=match.seq, kind="move", action=action, state=state.state_json()
        )
        live.publish(live.match_group(match.pk), event)
        events.append(event)
    return events


async def test_snapshot_on_connect_equals_the_db(match):
    communicator, snapshot = await socket_open(f"/ws/matches/{match.pk}/")
    assert snapshot == await _db_snapshot(match.pk)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 0
    assert snapshot["match"]["state"]["board"] == [[0, 0, 0]] * 3
    await communicator.disconnect()


async def test_published_events_arrive_in_order_and_resync_matches_the_db(match):
    communicator, _ = await socket_open(f"/ws/matches/{match.pk}/")
    published = await _play_two_moves(match.pk)
    received = [await communicator.receive_json_from(timeout=5) for _ in published]
    assert received == published
    assert [event["seq"] for event in received] == [1, 2]

    await communicator.send_json_to({"type": "resync"})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot == await _db_snapshot(match.pk)
    assert snapshot["seq"] == 2 and snapshot["match"]["moves"] == [4, 0]
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
        ('"resync"', "JSON object"),
        ('{"type": "teleport"}', "unknown message type"),
        ('{"type": "move", "action": 4}', "read-only"),
        (json.dumps({"type": "resync", "pad": "x" * 5000}), "too large"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(match, frame, fragment):
    communicator, snapshot = await socket_open(f"/ws/matches/{match.pk}/")
    await communicator.send_to(text_data=frame)
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "error" and fragment in error["error"]

    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "seq": snapshot["seq"]}
    await communicator.send_json_to({"type": "resync"})
    assert await communicator.receive_json_from(timeout=5) == await _db_snapshot(match.pk)
    assert await database_sync_to_async(lambda: Match.objects.get(pk=match.pk).moves)() == []
    await communicator.disconnect()


async def test_a_pong_carries_the_latest_event_number_so_a_lost_last_event_shows(match):
    communicator, snapshot = await socket_open(f"/ws/matches/{match.pk}/")
    # The row moved on and its event never came, as when the channel layer drops one on its way.
    await database_sync_to_async(Match.objects.filter(pk=match.pk).update)(seq=snapshot["seq"] + 1)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "seq": snapshot["seq"] + 1}
    await communicator.disconnect()


async def test_a_pong_on_a_stream_without_numbers_carries_none(user):
    communicator, _ = await socket_open("/ws/dashboard/", user)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_binary_frames_are_refused(match):
    communicator, _ = await socket_open(f"/ws/matches/{match.pk}/")
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(match):
    communicator = WebsocketCommunicator(
        application, f"/ws/matches/{match.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


@pytest.mark.parametrize("path", ["/ws/matches/999999/", "/ws/runs/999999/", "/ws/agents/999999/"])
async def test_unknown_ids_are_closed_with_4404(path):
    communicator = WebsocketCommunicator(application, path, headers=[SAME_ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted first, so the browser sees the close code and stops reconnecting
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4404
    await communicator.disconnect()  # end the application task (see test_consumer_limits)


@database_sync_to_async
def _run_with_history(user) -> TrainingRun:
    run = TrainingRunFactory(
        agent__owner=user, status=TrainingRun.RUNNING, env_steps_done=200, env_steps_total=300
    )
    for steps, mean in ((100, -0.5), (200, 0.1)):
        TrainingStat.objects.create(run=run, env_steps=steps, data={"env_steps": steps, "mean_return": mean})
    return run


async def test_training_sockets_send_history_then_relay_stats(user):
    run = await _run_with_history(user)
    for path in (f"/ws/runs/{run.pk}/", f"/ws/agents/{run.agent_id}/"):
        communicator, snapshot = await socket_open(path)
        assert snapshot["type"] == "snapshot"
        assert [(p["env_steps"], p["mean_return"]) for p in snapshot["history"]] == [(100, -0.5), (200, 0.1)]
        if "run" in snapshot:
            assert snapshot["run"]["status"] == "running" and snapshot["run"]["progress"] == pytest.approx(
                2 / 3, abs=1e-4
            )
        else:
            assert [r["id"] for r in snapshot["runs"]] == [run.pk]

        message = live.training_stats_message(
            run_id=run.pk,
            agent_id=run.agent_id,
            status="running",
            stats={"env_steps": 300, "mean_return": 0.4},
        )
        group = live.run_group(run.pk) if "run" in snapshot else live.agent_group(run.agent_id)
        await sync_to_async(live.publish)(group, message)
        assert await communicator.receive_json_from(timeout=5) == message
        await communicator.disconnect()


async def test_dashboard_relays_change_notices():
    communicator, snapshot = await socket_open("/ws/dashboard/")
    assert snapshot == {"type": "snapshot"}
    await sync_to_async(live.publish)(live.DASHBOARD_GROUP, {"type": "runs_changed"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "runs_changed"}
    await communicator.disconnect()
