"""Group names and message builders for everything Arena streams over Channels.

Wire protocol for a game (lichess-style: one owner writes, consumers relay):
- on connect the consumer joins the group first, then sends `{"type": "snapshot", "seq": n, ...}` read
  from the DB, so no event can fall between the snapshot and the stream;
- each move is `{"type": "event", "seq": n+1, ...}`; the owner writes the DB row before publishing;
- a client that sees a gap sends `{"type": "resync"}` and gets a fresh snapshot.
Training stats go to `run-<id>` and `agent-<id>`, and the positions of a sampled training game to
`run-<id>`; dashboard-wide changes go to `dashboard`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from arena.selectors import match_state_json
from marl.match import MatchState

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def match_group(match_id: int) -> str:
    return f"match-{match_id}"


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def agent_group(agent_id: int) -> str:
    return f"agent-{agent_id}"


def tournament_group(tournament_id: int) -> str:
    return f"tournament-{tournament_id}"


def league_group(league_id: int) -> str:
    return f"league-{league_id}"


def match_snapshot(match, viewer: str | None = None, hand: int | None = None) -> dict[str, Any]:
    """The state of a match as stored, as `viewer` (a seat, or None for a spectator) may see it, for a
    client that just connected or asked to resync (a poker match of many hands: hand `hand`)."""
    return {"type": "snapshot", "seq": match.seq, "match": match_state_json(match, viewer, hand)}


# Key of the spectators' state in `state_views`.
SPECTATOR = "spectator"


def state_views(state) -> dict[str, Any]:
    """An event's state: one for everyone, or (hidden information) one per seat and one for spectators
    under `views`. The group carries all of them; each consumer forwards only its viewer's
    (`for_viewer`), so no socket ever receives a state its viewer may not see."""
    if not state.spec.hidden_information:
        return {"state": state.state_json()}
    views = {seat: state.state_json(seat) for seat in state.spec.seats}
    return {"views": {**views, SPECTATOR: state.state_json()}}


def for_viewer(message: dict[str, Any], viewer: str | None) -> dict[str, Any]:
    """A group message as `viewer` may receive it: its own state in place of the per-viewer ones.

    An event whose move carries the agent's analysis is hidden-information play: the analysis came
    from the agent's private cards, so it is withheld until the hand is over."""
    if "views" not in message:
        return message
    out = {key: value for key, value in message.items() if key != "views"}
    out["state"] = message["views"].get(viewer or SPECTATOR, message["views"][SPECTATOR])
    out.pop("analysis", None)
    return out


def match_event(*, match_id: int, seq: int, kind: str, **data: Any) -> dict[str, Any]:
    """One numbered event of a match: `move`, `finished`, `failed`, `started`, `hands` (a poker match's
    hands done so far)."""
    return {"type": "event", "seq": seq, "match_id": match_id, "event": kind, **data}


def match_finished_event(match) -> dict[str, Any]:
    """The `finished` event of a match whose result is stored: the result and the last position (of a
    poker match, its last hand), per viewer where cards are hidden. A rebuild replays every move."""
    seed, moves, _ = match.hand()
    with MatchState(match.game.name, seed=seed, moves=moves, opening_plies=match.opening_plies) as final:
        views = state_views(final)
    return match_event(match_id=match.pk, seq=match.seq, kind="finished", result=match.result, **views)


def training_stats_message(
    *, run_id: int, agent_id: int, status: str, stats: dict[str, Any]
) -> dict[str, Any]:
    return {"type": "stats", "run_id": run_id, "agent_id": agent_id, "status": status, "stats": stats}


def run_checkpoint_message(*, run_id: int, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint the run just wrote, as its page lists it (`serializers.checkpoint_row_json`)."""
    return {"type": "checkpoint", "run_id": run_id, "checkpoint": checkpoint}


def training_game_message(*, run_id: int, game: dict[str, Any], ply: int) -> dict[str, Any]:
    """One position of a sampled training game (`marl.train_watch`): each message carries the whole
    state, so a viewer who missed some simply draws the newest (no sequence numbers, no resync)."""
    states = game["states"]
    last = ply == len(states) - 1
    return {
        "type": "training_game",
        "run_id": run_id,
        "number": game["number"],
        "env_steps": game["env_steps"],
        "render_hint": game["render_hint"],
        "players": game["players"],
        "ply": ply,
        "plies": len(states) - 1,
        "state": states[ply],
        "result": game["result"] if last else None,
    }


class _Sender:
    """One event loop in a daemon thread per process, for publishing from sync code.

    `async_to_sync` from a plain thread (a Celery worker, a script) starts a new event loop per call,
    and channels-redis keeps its connection pool per loop: every move would pay a fresh Redis
    connection (measured ~30 ms). A long-lived loop keeps one pool for the process.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="arena-live-publisher", daemon=True).start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=PUBLISH_TIMEOUT)

    def send(self, messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return

        async def send_all() -> None:
            # Consecutive messages to one group go as one group message (a move and the agent's
            # reply): each group_send is four Redis round trips through the channel layer, a cost the
            # publisher paid per event before. Consumers relay them one by one, in order.
            for group, pairs in itertools.groupby(messages, key=lambda pair: pair[0]):
                batch = [message for _, message in pairs]
                body = {"message": batch[0]} if len(batch) == 1 else {"messages": batch}
                await layer.group_send(group, {"type": "relay", **body})

        self.run(send_all())


_sender: _Sender | None = None
_sender_lock = threading.Lock()
PUBLISH_TIMEOUT = 5.0


def _get_sender() -> _Sender:
    global _sender
    with _sender_lock:
        if _sender is None or _sender.pid != os.getpid():  # a forked child needs a loop of its own
            _sender = _Sender()
        return _sender


def publish(group: str, message: dict[str, Any]) -> None:
    """Send a message to a group from sync code (a worker or a service). Never raises: a live view
    missing an update is better than a training run or a match failing because Redis blinked."""
    publish_many(group, [message])


def publish_many(group: str, messages: list[dict[str, Any]]) -> None:
    """Several messages to one group, in order, as one group message (a move and its reply); each
    consumer relays them one by one (`consumers.RelayConsumer.relay`)."""
    publish_each([(group, message) for message in messages])


def publish_each(messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """`(group, message)` pairs, in order, in one hop to the publishing loop (the ends of a batch's
    matches). Never raises, as `publish`."""
    if not messages:
        return
    try:
        _get_sender().send(messages)
    except Exception:  # the stream is best effort; the DB row is the truth and resync recovers
        logger.warning("could not publish to %s", ", ".join(sorted({g for g, _ in messages})), exc_info=True)


def groups_watched(groups: Sequence[str]) -> set[str]:
    """Those of `groups` that someone has joined, so that a caller builds only messages someone gets.

    On channels-redis one script per Redis shard counts the members of all of them. Another layer, or a
    failed count, answers all of them: a message to an empty group is lost harmlessly, a watcher left
    without one is not."""
    if not groups:
        return set()
    layer = get_channel_layer()
    if layer is None:
        return set()
    if not isinstance(layer, RedisChannelLayer):
        return set(groups)
    try:
        return _get_sender().run(_members_on_redis(layer, list(groups)))
    except Exception:
        logger.warning("could not count the members of %s groups", len(groups), exc_info=True)
        return set(groups)


# Every group's member count in one command: for 500 groups a pipeline of ZCOUNTs took 45-55 ms of
# client time on a busy machine, this script 5-9 ms.
_COUNT_MEMBERS = """
local counts = {}
for i = 1, #KEYS do counts[i] = redis.call('ZCOUNT', KEYS[i], ARGV[1], '+inf') end
return counts
"""


async def _members_on_redis(layer: RedisChannelLayer, groups: list[str]) -> set[str]:
    # channels-redis keeps a group as a sorted set of its channels scored by when they joined, and
    # `group_send` skips those older than `group_expiry`: count the rest, as it would send to them.
    since = f"({int(time.time()) - layer.group_expiry}"
    by_shard: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        by_shard[layer.consistent_hash(group)].append(group)
    watched: set[str] = set()
    for shard, names in by_shard.items():
        keys = [layer._group_key(name) for name in names]
        counts = await layer.connection(shard).eval(_COUNT_MEMBERS, len(keys), *keys, since)
        watched.update(name for name, count in zip(names, counts, strict=True) if count)
    return watched
