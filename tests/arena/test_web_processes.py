"""Several web processes serve one arena: a person's moves and every spectator's stream arrive whole,
whichever uvicorn process each socket landed on (the match group lives in Redis, not in a process)."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from pathlib import Path

import psutil
import pytest
import websockets
from django.test import Client

from arena.models import Match
from arena.services.play import human_game_create
from tests.servers import asgi_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

COLUMNS = [0, 6, 1, 5, 0, 6]  # connect four: no four of mine in a row, so the bot decides or I resign
MAX_SOCKETS = 40


@pytest.fixture
def channel_prefix(settings) -> str:
    """Our own channel prefix, shared with the server: group names repeat across test sessions."""
    prefix = f"arena-test-{uuid.uuid4().hex[:10]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    return prefix


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _server_process_by_client_port(server_pid: int, port: int) -> dict[int, int]:
    """Each connected client's port, mapped to the pid of the uvicorn worker holding its socket."""
    owners: dict[int, int] = {}
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.Error:
            continue
        for connection in connections:
            if connection.laddr and connection.laddr.port == port and connection.raddr:
                owners[connection.raddr.port] = child.pid
    return owners


def _assert_one_unbroken_stream(messages: list[dict], final_seq: int) -> None:
    """A snapshot, then events numbered one by one up to `final_seq`: no gap, no duplicate."""
    assert messages[0]["type"] == "snapshot", messages[0]
    seqs = [messages[0]["seq"]] + [m["seq"] for m in messages[1:] if m["type"] == "event"]
    assert seqs == list(range(seqs[0], final_seq + 1)), seqs


async def _stream(ws, until_seq: asyncio.Future) -> list[dict]:
    """Every message a socket gets until it has seen the seq `until_seq` resolves to."""
    messages: list[dict] = []
    while True:
        messages.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        if until_seq.done() and messages[-1].get("seq", -1) >= until_seq.result():
            return messages
        if messages[-1].get("event") == "finished":
            await until_seq
            if messages[-1]["seq"] >= until_seq.result():
                return messages


async def _play(ws) -> None:
    """Play COLUMNS, each answered by the bot, then resign if the game still runs."""
    snapshot = json.loads(await ws.recv())
    ply = len(snapshot["match"]["moves"])
    for column in COLUMNS:
        await ws.send(json.dumps({"type": "move", "ply": ply, "move": {"action": column}}))
        moves = 0
        while moves < 2:  # mine, then the bot's reply
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert message["type"] != "error" or message["code"] == "game_over", message
            if message.get("event") == "finished" or message.get("code") == "game_over":
                return
            moves += message.get("event") == "move"
        ply += 2
    await ws.send(json.dumps({"type": "resign"}))


async def _spectators_on_every_process(
    base: str, match_id: int, origin: str, server_pid: int, port: int
) -> tuple[list, dict[int, int]]:
    """Open spectators until every web process holds at least two (the kernel picks the process)."""
    spectators: list = []
    owners: dict[int, int] = {}
    while len(spectators) < MAX_SOCKETS:
        spectators.append(await websockets.connect(f"{base}/ws/matches/{match_id}/", origin=origin))
        owners = _server_process_by_client_port(server_pid, port)
        held = [owners.get(ws.local_address[1]) for ws in spectators]
        pids = set(owners.values())
        if len(pids) >= 2 and all(held.count(pid) >= 2 for pid in pids):
            break
    return spectators, owners


def test_moves_and_streams_arrive_whole_across_two_web_processes(user, channel_prefix, tmp_path: Path):
    game = human_game_create(user=user, game="connect_four", opponent="bot:random", seat="player_1", seed=3)
    cookie = _cookie(user)
    env = {"ARENA_CHANNEL_PREFIX": channel_prefix, "ARENA_MOVES_PER_SECOND": "1000", "ARENA_WS_PER_IP": "200"}
    with asgi_server(media_root=tmp_path / "media", log=tmp_path / "server.log", env=env, workers=2) as (
        url,
        process,
    ):
        base, port = url.replace("http://", "ws://"), int(url.rsplit(":", 1)[1])
        origin = url

        async def scenario() -> tuple[dict[int, list[dict]], dict[int, int], int]:
            player = await websockets.connect(
                f"{base}/ws/play/{game.pk}/", origin=origin, additional_headers={"Cookie": cookie}
            )
            spectators, owners = await _spectators_on_every_process(base, game.pk, origin, process.pid, port)
            final_seq: asyncio.Future = asyncio.get_running_loop().create_future()
            readers = [asyncio.create_task(_stream(ws, final_seq)) for ws in spectators]
            await _play(player)
            seq = await asyncio.to_thread(lambda: Match.objects.get(pk=game.pk).seq)
            final_seq.set_result(seq)
            streams = dict(
                zip([ws.local_address[1] for ws in spectators], await asyncio.gather(*readers), strict=True)
            )
            # A socket opened now (a reconnect, on either process) starts from the final position.
            late = [
                await websockets.connect(f"{base}/ws/matches/{game.pk}/", origin=origin) for _ in range(4)
            ]
            for ws in late:
                snapshot = json.loads(await ws.recv())
                assert (snapshot["type"], snapshot["seq"], snapshot["match"]["status"]) == (
                    "snapshot",
                    seq,
                    "finished",
                )
            for ws in [player, *spectators, *late]:
                await ws.close()
            return streams, owners, seq

        streams, owners, final_seq = asyncio.run(scenario())

    assert len({owners[client] for client in streams}) == 2, "every socket landed on one process"
    assert final_seq >= 3
    for messages in streams.values():
        _assert_one_unbroken_stream(messages, final_seq)
