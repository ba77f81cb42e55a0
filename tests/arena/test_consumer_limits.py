"""Strangers cannot slow a player down or crash a socket: cached snapshots, throttled resyncs, socket
caps, and a clear close code or error for every malformed path or frame."""

from __future__ import annotations

import asyncio
import copy
import json
import statistics
import time
import uuid
from pathlib import Path

import pytest
import websockets
from channels.testing import WebsocketCommunicator
from django.test import Client

from arena import consumers
from arena.asgi import application
from arena.models import Match
from arena.services.matches import match_create
from arena.services.play import human_game_create
from tests.servers import asgi_server

ORIGIN = [(b"origin", b"http://127.0.0.1")]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def private_channel_layer(settings) -> str:
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    prefix = f"arena-test-{uuid.uuid4().hex[:10]}"
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    settings.ARENA_MOVES_PER_SECOND = 10_000
    return prefix


@pytest.fixture
def match() -> Match:
    return match_create(
        user=None,
        game="tictactoe",
        seats={"player_1": "bot:minimax", "player_2": "bot:random"},
        seed=7,
        dispatch=False,
        opening_plies=0,  # from the empty board: the test writes the moves itself
    )


async def _connect(path: str) -> tuple[WebsocketCommunicator, dict]:
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


async def test_a_deeply_nested_frame_gets_an_error_and_the_socket_stays_usable(match):
    communicator, _ = await _connect(f"/ws/matches/{match.pk}/")
    await communicator.send_to(text_data="[" * 2000 + "]" * 2000)
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "error"
    await communicator.send_to(text_data='{"type": ' * 400 + "1" + "}" * 400)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/matches/1", "/ws/matches/abc/", "/ws/"])
async def test_an_unknown_socket_path_is_closed_with_4404(path):
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4404
    # End the application task here: one left for the loop's shutdown to cancel once hung that
    # shutdown (a cancelled channel-layer receive that never finished) until the 300 s timeout.
    await communicator.disconnect()


async def test_resyncs_past_the_burst_are_paced_not_refused(match, monkeypatch):
    monkeypatch.setattr(consumers, "RESYNC_INTERVAL", 0.2)
    communicator, first = await _connect(f"/ws/matches/{match.pk}/")
    started = time.monotonic()
    for _ in range(consumers.RESYNC_BURST + 5):
        await communicator.send_json_to({"type": "resync"})
    snapshots = [await communicator.receive_json_from(timeout=10) for _ in range(consumers.RESYNC_BURST + 5)]
    elapsed = time.monotonic() - started
    assert all(snapshot == first for snapshot in snapshots)
    assert elapsed >= 5 * 0.2 * 0.9, f"8 resyncs answered in {elapsed:.2f} s: not paced"
    await communicator.disconnect()


def test_a_snapshot_is_built_once_per_seq(match, django_assert_max_num_queries):
    cache = consumers._SnapshotCache(size=4)
    first = cache.get(Match.objects.select_related("game").get(pk=match.pk))
    again = Match.objects.select_related("game").get(pk=match.pk)
    with django_assert_max_num_queries(0):  # the seats query of a rebuild does not happen again
        assert cache.get(again) is first
    Match.objects.filter(pk=match.pk).update(moves=[4], seq=1)  # what the owner writes after a move
    rebuilt = cache.get(Match.objects.select_related("game").get(pk=match.pk))
    assert rebuilt["seq"] == 1 and rebuilt["match"]["moves"] == [4]


async def test_sockets_over_the_per_address_cap_are_closed_with_4429(match, settings):
    settings.ARENA_WS_PER_IP = 3
    held = [(await _connect(f"/ws/matches/{match.pk}/"))[0] for _ in range(3)]
    extra = WebsocketCommunicator(application, f"/ws/matches/{match.pk}/", headers=ORIGIN)
    assert (await extra.connect(timeout=5))[0]
    closed = await extra.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4429
    await extra.disconnect()
    await held[0].disconnect()
    again, snapshot = await _connect(f"/ws/matches/{match.pk}/")  # a slot freed up
    assert snapshot["type"] == "snapshot"
    for communicator in [*held[1:], again]:
        await communicator.disconnect()


# ------------------------------------------------------------------------------ a real server process


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def _reply_times(base: str, match_id: int, cookie: str, moves: list[int]) -> list[float]:
    """Play `moves` (connect four columns) and time each until the agent's reply event arrives."""
    times = []
    async with websockets.connect(
        f"{base}/ws/play/{match_id}/",
        origin=base.replace("ws://", "http://"),
        additional_headers={"Cookie": cookie},
    ) as ws:
        snapshot = json.loads(await ws.recv())
        ply = len(snapshot["match"]["moves"])
        for column in moves:
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "move", "ply": ply, "move": {"action": column}}))
            seen = 0
            while seen < 2:  # my move, then the agent's reply
                message = json.loads(await ws.recv())
                if message.get("code") == "game_over":  # the reply before this one ended it
                    return times
                if message.get("type") == "error":
                    raise AssertionError(message)
                if message.get("event") == "move":
                    seen += 1
                if message.get("event") == "finished":
                    return times
            ply += 2
            times.append(time.perf_counter() - started)
    return times


async def _flood(base: str, match_id: int, sockets: int, stop: asyncio.Event) -> int:
    """`sockets` anonymous spectators asking for resyncs as fast as they are answered."""
    answered = 0

    async def one() -> None:
        nonlocal answered
        async with websockets.connect(
            f"{base}/ws/matches/{match_id}/", origin=base.replace("ws://", "http://")
        ) as ws:
            await ws.recv()
            while not stop.is_set():
                await ws.send('{"type": "resync"}')
                await ws.recv()
                answered += 1

    tasks = [asyncio.create_task(one()) for _ in range(sockets)]
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    return answered


@pytest.mark.slow
def test_a_resync_flood_from_strangers_does_not_slow_a_players_reply(
    user, private_channel_layer, tmp_path: Path
):
    games = [
        human_game_create(user=user, game="connect_four", opponent="bot:random", seat="player_1", seed=seed)
        for seed in (1, 2)
    ]
    cookie = _cookie(user)
    columns = [0, 6, 1, 5, 0, 6]  # no four of mine in a row
    with asgi_server(
        media_root=tmp_path / "media",
        log=tmp_path / "server.log",
        env={"ARENA_CHANNEL_PREFIX": private_channel_layer, "ARENA_MOVES_PER_SECOND": "1000"},
    ) as (url, _):
        base = url.replace("http://", "ws://")

        async def scenario() -> tuple[list[float], list[float], int]:
            quiet = await _reply_times(base, games[0].pk, cookie, columns)
            stop = asyncio.Event()
            flood = asyncio.create_task(_flood(base, games[1].pk, 40, stop))
            await asyncio.sleep(1.0)
            loud = await _reply_times(base, games[1].pk, cookie, columns)
            stop.set()
            return quiet, loud, await flood

        quiet, loud, answered = asyncio.run(scenario())
    assert answered > 40, "the flood never got going"
    # Each socket gets a burst then about one snapshot per second, so the flood costs little.
    assert max(loud) < max(0.25, 5 * statistics.median(quiet)), f"quiet {quiet}, under flood {loud}"
