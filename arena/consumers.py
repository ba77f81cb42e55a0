"""WebSocket consumers. They only relay: a worker or a service writes the DB row, then publishes
through `arena.live`; a consumer joins the group, sends a snapshot read from the DB, and forwards.

Client frames are JSON objects of at most 4 KB: `{"type": "resync"}` (a fresh snapshot) and
`{"type": "ping"}` (answered `{"type": "pong"}`, on a match's stream with `"seq"`, its latest event's
number). Anything else gets `{"type": "error", "error": ...}` and changes nothing. Spectators are
read-only: moves go through the play service, never a socket. An unknown id is accepted and then
closed with code 4404, so the browser can tell it from a network failure and stop reconnecting.

Strangers cannot slow a player down: snapshots of a match are built once per seq per process (a
rebuild replays every move), resyncs are throttled per socket (a token bucket: a burst of
`RESYNC_BURST`, then one per `RESYNC_INTERVAL` s; an early one waits, it is not refused), and each
process holds at most `ARENA_WS_PER_IP` sockets per client address and `ARENA_WS_PER_USER` per
signed-in user (one more is closed with 4429).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, OrderedDict
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from arena import live, selectors
from arena.identity import client_address
from arena.models import Match

MAX_FRAME_BYTES = 4096
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
RESYNC_BURST = 3
RESYNC_INTERVAL = 1.0
SNAPSHOT_CACHE_SIZE = 256


class _SocketCounts:
    """Open sockets of this process per client address and per user, for the per-process caps."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def take(self, keys: list[tuple[str, int]]) -> bool:
        """Count one socket under every key, unless one of them is at its cap (then count nothing)."""
        if any(self.counts[key] >= cap for key, cap in keys):
            return False
        self.counts.update(key for key, _ in keys)
        return True

    def release(self, keys: list[str]) -> None:
        self.counts.subtract(keys)
        for key in keys:
            if self.counts[key] <= 0:
                del self.counts[key]


_sockets = _SocketCounts()


class _SnapshotCache:
    """Match snapshots by (id, seq, status, viewer): a rebuild replays every move, so do it once per
    seq (and, where cards are hidden, once per viewer: a seat and a spectator see different states)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, int, str, str | None], dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, match: Match, viewer: str | None = None) -> dict[str, Any]:
        key = (match.pk, match.seq, match.status, viewer)
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        snapshot = live.match_snapshot(match, viewer)
        with self.lock:
            self.entries[key] = snapshot
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return snapshot


_snapshots = _SnapshotCache(SNAPSHOT_CACHE_SIZE)


class RelayConsumer(AsyncJsonWebsocketConsumer):
    """Join one group, send a snapshot, relay the group's messages; answer resync and ping."""

    group: str | None = None
    socket_keys: list[str] = []
    resync_tokens: float = RESYNC_BURST
    resync_at: float = 0.0

    def group_name(self) -> str:
        raise NotImplementedError

    async def snapshot(self) -> dict[str, Any] | None:
        """The current state from the DB, or None when the object does not exist."""
        raise NotImplementedError

    async def connect(self) -> None:
        await self.accept()
        if not self.count_socket():
            await self.close(code=CLOSE_TOO_MANY)
            return
        # Join before reading: an event published meanwhile is then delivered after the snapshot
        # (the client drops it by its seq) instead of falling between the snapshot and the stream.
        self.group = self.group_name()
        await self.channel_layer.group_add(self.group, self.channel_name)
        message = await self.snapshot()
        if message is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json(message)

    async def disconnect(self, code: int) -> None:
        _sockets.release(self.socket_keys)
        self.socket_keys = []
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    def count_socket(self) -> bool:
        """Count this socket against its address's and user's caps; False when one is full."""
        peer = (self.scope.get("client") or ("unknown", 0))[0]
        forwarded = dict(self.scope.get("headers", [])).get(b"x-forwarded-for", b"").decode("latin-1")
        keys = [(f"ip:{client_address(peer, forwarded)}", settings.ARENA_WS_PER_IP)]
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            keys.append((f"user:{user.pk}", settings.ARENA_WS_PER_USER))
        if not _sockets.take(keys):
            return False
        self.socket_keys = [key for key, _ in keys]
        return True

    async def throttle_resync(self) -> None:
        """Wait until this socket may have another snapshot (a token bucket per socket)."""
        now = time.monotonic()
        self.resync_tokens = min(RESYNC_BURST, self.resync_tokens + (now - self.resync_at) / RESYNC_INTERVAL)
        self.resync_at = now
        if self.resync_tokens < 1:
            await asyncio.sleep((1 - self.resync_tokens) * RESYNC_INTERVAL)
            self.resync_at = time.monotonic()
            self.resync_tokens = 1
        self.resync_tokens -= 1

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Parse here rather than in decode_json: a bad frame must get an answer, not kill the consumer.
        if text_data is None:
            await self.send_error("send JSON text frames, not binary ones")
            return
        if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
            await self.send_error(f"frame too large (at most {MAX_FRAME_BYTES} bytes)")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: a frame of thousands of nested arrays
            await self.send_error("malformed JSON")
            return
        if not isinstance(content, dict):
            await self.send_error('a frame must be a JSON object like {"type": "resync"}')
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        if kind == "resync":
            await self.throttle_resync()
            message = await self.snapshot()
            if message is None:  # deleted while we watched
                await self.close(code=CLOSE_NOT_FOUND)
                return
            await self.send_json(message)
        elif kind == "ping":
            seq = await self.stream_seq()
            await self.send_json({"type": "pong"} if seq is None else {"type": "pong", "seq": seq})
        elif kind == "move":
            await self.send_error("this socket is read-only; moves are made through the play page")
        else:
            await self.send_error(f"unknown message type {str(kind)[:40]!r} (known: resync, ping)")

    async def send_error(self, error: str) -> None:
        await self.send_json({"type": "error", "error": error})

    async def stream_seq(self) -> int | None:
        """The number of the stream's latest event, for a numbered stream (None otherwise): a pong
        carries it, so a client whose last event was lost on its way sees it is behind and resyncs."""
        return None

    # Who is looking (a seat, or None for a spectator): events with per-viewer states are cut to it.
    viewer: str | None = None

    async def relay(self, event: dict[str, Any]) -> None:
        """A message published with `live.publish` to this consumer's group (or, from
        `live.publish_many`, several in order), as its viewer may see it."""
        for message in event.get("messages") or [event["message"]]:
            await self.send_json(live.for_viewer(message, self.viewer))


@database_sync_to_async
def _match_seq(match_id: int) -> int | None:
    return Match.objects.filter(pk=match_id).values_list("seq", flat=True).first()


@database_sync_to_async
def _match_snapshot(match_id: int) -> dict[str, Any] | None:
    match = Match.objects.select_related("game").filter(pk=match_id).first()
    return _snapshots.get(match) if match else None


class MatchConsumer(RelayConsumer):
    """`ws/matches/<id>/`: a snapshot `{"type": "snapshot", "seq": n, "match": {...}}`, then events
    `{"type": "event", "seq": n+1, "event": "move" | "started" | "finished" | "failed", ...}`."""

    def group_name(self) -> str:
        return live.match_group(self.scope["url_route"]["kwargs"]["match_id"])

    async def snapshot(self) -> dict[str, Any] | None:
        return await _match_snapshot(self.scope["url_route"]["kwargs"]["match_id"])

    async def stream_seq(self) -> int | None:
        return await _match_seq(self.scope["url_route"]["kwargs"]["match_id"])


class TrainingConsumer(RelayConsumer):
    """`ws/runs/<id>/` and `ws/agents/<id>/`: a snapshot with status and the stored stats history,
    then `{"type": "stats", ...}` and `{"type": "checkpoint", ...}` messages as they are published."""

    def group_name(self) -> str:
        kwargs = self.scope["url_route"]["kwargs"]
        if "run_id" in kwargs:
            return live.run_group(kwargs["run_id"])
        return live.agent_group(kwargs["agent_id"])

    async def snapshot(self) -> dict[str, Any] | None:
        kwargs = self.scope["url_route"]["kwargs"]
        if "run_id" in kwargs:
            return await database_sync_to_async(selectors.run_snapshot)(kwargs["run_id"])
        return await database_sync_to_async(selectors.agent_snapshot)(kwargs["agent_id"])


class DashboardConsumer(RelayConsumer):
    """`ws/dashboard/`: `{"type": "runs_changed"}` / `{"type": "matches_changed"}`; the page refetches
    the matching HTML fragment. The snapshot is empty: on (re)connect the page refetches everything."""

    def group_name(self) -> str:
        return live.DASHBOARD_GROUP

    async def snapshot(self) -> dict[str, Any] | None:
        return {"type": "snapshot"}


@database_sync_to_async
def _competition_exists(model: str, pk: int) -> bool:
    from arena.models import League, Tournament

    return (Tournament if model == "tournament" else League).objects.filter(pk=pk).exists()


class CompetitionConsumer(RelayConsumer):
    """`ws/tournaments/<id>/` and `ws/leagues/<id>/`: an empty snapshot, then `{"type": "tournament" |
    "league", "event": ...}` messages; the page refetches its tables on each (they are DB reads)."""

    def _target(self) -> tuple[str, int]:
        kwargs = self.scope["url_route"]["kwargs"]
        return (
            ("tournament", kwargs["tournament_id"])
            if "tournament_id" in kwargs
            else ("league", kwargs["league_id"])
        )

    def group_name(self) -> str:
        model, pk = self._target()
        return live.tournament_group(pk) if model == "tournament" else live.league_group(pk)

    async def snapshot(self) -> dict[str, Any] | None:
        return {"type": "snapshot"} if await _competition_exists(*self._target()) else None


# ---------------------------------------------------------------------------------------------- play

CLOSE_UNAUTHENTICATED = 4401


@database_sync_to_async
def _play_snapshot(match_id: int, user: Any) -> dict[str, Any] | None:
    from arena.services.play_cache import match_seats
    from arena.services.play_events import human_seat_of

    match = Match.objects.select_related("game").filter(pk=match_id).first()
    if match is None:
        return None
    seat = human_seat_of(match_seats(match), user)  # read once per process: the moves use them too
    return {**_snapshots.get(match, seat), "seat": seat}


class PlayConsumer(RelayConsumer):
    """`ws/play/<id>/`: a person's game against an agent; signed-in users only (others: close 4401).

    The snapshot is the match's, plus `"seat"` (the seat this user holds, or null). Client frames:
    `{"type": "move", "ply": n, "move": ...}`, `{"type": "resign"}`, `{"type": "resync"}`, `{"type":
    "ping"}`. Moves go to the play service, which publishes its events to the match group after the
    commit: the mover gets them like any spectator, so every socket sees one numbered stream. A refused
    frame gets `{"type": "error", "code": ..., "error": ...}` (a `PlayError` code, or `bad_request` for
    a frame that is not a valid message) and changes nothing. A rated game's `finished` event says
    `"rating_pending": true`: a worker rates the game and then sends the unnumbered `{"type": "rating",
    "match_id": id, "rating": {"fit": ..., "provisional": ...}}`.
    """

    @property
    def match_id(self) -> int:
        return self.scope["url_route"]["kwargs"]["match_id"]

    def group_name(self) -> str:
        return live.match_group(self.match_id)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept, then close with a code of our own: a refused handshake looks like a network
            # failure to the browser, which would keep reconnecting.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await super().connect()

    async def stream_seq(self) -> int | None:
        return await _match_seq(self.match_id)

    async def snapshot(self) -> dict[str, Any] | None:
        message = await _play_snapshot(self.match_id, self.scope["user"])
        # The seat this socket's events are cut for: the user's seat (None when only watching).
        self.viewer = message["seat"] if message else None
        return message

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        from arena.services.play import human_move
        from arena.services.play_forfeits import human_game_resign

        kind = content.get("type")
        if kind == "move":
            if set(content) != {"type", "ply", "move"}:
                await self.send_error('a move is {"type": "move", "ply": n, "move": ...}')
                return
            await self._call(human_move, ply=content["ply"], move=content["move"])
        elif kind == "resign":
            await self._call(human_game_resign)
        elif kind in ("resync", "ping"):
            await super().receive_json(content, **kwargs)
        else:
            await self.send_error(
                f"unknown message type {str(kind)[:40]!r} (known: move, resign, resync, ping)"
            )

    async def _call(self, action: Any, **kwargs: Any) -> None:
        """Run a play service call in the DB thread; its events arrive through the group."""
        from arena.services.play_events import PlayError

        try:
            # Thread-sensitive (the default): on SQLite, moves in parallel threads only wait for the file
            # lock with sleeping back-off, which measured worse at p99 (bench/bench_play.py).
            await database_sync_to_async(action)(match_id=self.match_id, user=self.scope["user"], **kwargs)
        except PlayError as exc:
            await self.send_error(exc.message, code=exc.code)
        except Exception:  # a broken checkpoint or a DB hiccup: answer, keep the socket, log it
            import logging

            logging.getLogger(__name__).exception("play: match %s", self.match_id)
            await self.send_error("the server could not do that; try again", code="server_error")

    async def send_error(self, error: str, code: str = "bad_request") -> None:
        await self.send_json({"type": "error", "code": code, "error": error})


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any other `ws/` path (a typo, a missing trailing slash): accepted, then closed with 4404."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
