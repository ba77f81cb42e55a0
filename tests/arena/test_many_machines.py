"""Many machines in one test: two web servers and two Celery workers under different names share one
database (SQLite or PostgreSQL, whichever the suite runs on) and one Redis. A tournament spreads over
both workers, and a live game a worker plays is watched whole through both web servers."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
import websockets

from arena.dispatch import task_send
from arena.models import Match, Tournament
from arena.services import tournaments
from arena.services.matches import match_create
from tests.arena.conftest import wait_until
from tests.servers import asgi_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BATCH_DONE = re.compile(r"Task arena\.tasks\.tournament_play_batch\[[^\]]+\] succeeded")


@pytest.fixture
def shared_prefix(monkeypatch, settings) -> str:
    """One channel prefix for this process, both servers and both workers (set before they start)."""
    prefix = f"arena-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("ARENA_CHANNEL_PREFIX", prefix)
    layers = {
        name: {**layer, "CONFIG": {**layer["CONFIG"], "prefix": prefix}}
        for name, layer in settings.CHANNEL_LAYERS.items()
    }
    settings.CHANNEL_LAYERS = layers
    return prefix


async def _watch(url: str, match_id: int) -> list[dict]:
    """Every message a spectator gets from its snapshot to the finished event."""
    base = url.replace("http://", "ws://")
    messages: list[dict] = []
    async with websockets.connect(f"{base}/ws/matches/{match_id}/", origin=url) as ws:
        while True:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
            if (
                messages[-1].get("event") == "finished"
                or messages[-1].get("match", {}).get("status") == "finished"
            ):
                return messages


def test_two_workers_share_a_tournament_and_two_web_servers_stream_one_workers_live_game(
    user, worker_process, media_root: Path, tmp_path: Path, shared_prefix: str
):
    workers = [worker_process("alpha"), worker_process("beta")]
    wait_until(
        lambda: all(" ready." in w.log.read_text() for w in workers), timeout=90, message="workers ready"
    )
    with ExitStack() as stack:
        urls = [
            stack.enter_context(asgi_server(media_root=media_root, log=tmp_path / f"web{i}.log"))[0]
            for i in (1, 2)
        ]
        tournament = tournaments.tournament_create(
            user=user,
            game="tictactoe",
            format="round_robin",
            participants=["bot:minimax", "bot:random", "bot:mcts:4", "bot:mcts:16"],
            games_per_pair=4,
            batch_size=2,  # 12 batches of two matches: tournament_play_batch tasks for the two workers
            seed=5,
        )
        # A live game: created unqueued so both spectators are watching before its first move.
        match = match_create(
            user=user,
            game="connect_four",
            seats={"player_0": "bot:random", "player_1": "bot:alphabeta:1"},
            seed=2,
            move_delay=0.05,
            dispatch=False,
        )

        async def scenario() -> list[list[dict]]:
            watchers = [asyncio.create_task(_watch(url, match.pk)) for url in urls]
            await asyncio.sleep(2)  # both sockets hold their snapshot
            await asyncio.to_thread(task_send, "arena.tasks.play_match", match.pk)
            return await asyncio.gather(*watchers)

        streams = asyncio.run(scenario())
        wait_until(
            lambda: Tournament.objects.get(pk=tournament.pk).status == Tournament.FINISHED,
            timeout=240,
            message="the round robin to finish on two workers",
        )

    match.refresh_from_db()
    assert match.status == Match.FINISHED and match.seq >= 3
    for messages in streams:
        assert messages[0]["type"] == "snapshot"
        seqs = [messages[0]["seq"]] + [m["seq"] for m in messages[1:] if m["type"] == "event"]
        assert seqs == list(range(seqs[0], match.seq + 1)), seqs  # no gap, no duplicate
    batches = {w.log.name: len(BATCH_DONE.findall(w.log.read_text())) for w in workers}
    assert all(count > 0 for count in batches.values()), f"one worker played every batch: {batches}"
    played = Match.objects.filter(tournament_match__round__tournament=tournament)
    assert played.count() == 24 and set(played.values_list("status", flat=True)) == {Match.FINISHED}
