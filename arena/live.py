"""Group names and message builders for everything Arena streams over Channels.

Wire protocol for a game (lichess-style: one owner writes, consumers relay):
- on connect the consumer joins the group first, then sends `{"type": "snapshot", "seq": n, ...}` read
  from the DB, so no event can fall between the snapshot and the stream;
- each move is `{"type": "event", "seq": n+1, ...}`; the owner writes the DB row before publishing;
- a client that sees a gap sends `{"type": "resync"}` and gets a fresh snapshot.
Training stats go to `run-<id>` and `agent-<id>`; dashboard-wide changes go to `dashboard`.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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


def match_snapshot(match) -> dict[str, Any]:
    """The full state of a match as stored, for a client that just connected or asked to resync."""
    from arena.services.matches import match_state_json

    return {"type": "snapshot", "seq": match.seq, "match": match_state_json(match)}


def match_event(*, match_id: int, seq: int, kind: str, **data: Any) -> dict[str, Any]:
    """One numbered event of a match: `move`, `finished`, `failed`, `started`."""
    return {"type": "event", "seq": seq, "match_id": match_id, "event": kind, **data}


def training_stats_message(
    *, run_id: int, agent_id: int, status: str, stats: dict[str, Any]
) -> dict[str, Any]:
    return {"type": "stats", "run_id": run_id, "agent_id": agent_id, "status": status, "stats": stats}


def publish(group: str, message: dict[str, Any]) -> None:
    """Send a message to a group from sync code (a worker or a service). Never raises: a live view
    missing an update is better than a training run or a match failing because Redis blinked."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "relay", "message": message})
    except Exception:  # the stream is best effort; the DB row is the truth and resync recovers
        logger.warning("could not publish to %s", group, exc_info=True)


def publish_many(group: str, messages: list[dict[str, Any]]) -> None:
    """Several messages to one group, in order, in one hop to the event loop (a move and its reply)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        for message in messages:
            await layer.group_send(group, {"type": "relay", "message": message})

    try:
        async_to_sync(send_all)()
    except Exception:  # best effort, as publish
        logger.warning("could not publish to %s", group, exc_info=True)
