"""Strength against perfect play, per checkpoint, measured by a worker after the checkpoint is written.

- tic-tac-toe (solved): the checkpoint in the seat it learned, walked over every position it can reach
  against a perfect player (`marl.solved`): the exact share of its moves that throw away the result,
  and its win/draw/loss rates against perfect play.
- connect four: its entrant's score against alpha-beta at depths 1, 2 and 4, over
  ARENA_STRENGTH_PAIRS game pairs per depth (one opening, seats swapped).

Over time: an agent's strength by version (`strength_points` per checkpoint), and a league's champion
by tick (`league_strength`): its score against each anchor and its checkpoints' strength.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from arena import live
from arena.dispatch import task_send
from arena.models import Checkpoint, League, LeagueTick, Player
from arena.services.anchors import anchor_bots
from arena.services.calibration import checkpoint_calibrate, entrant_complete, entrant_rows
from arena.services.exploitability import (
    checkpoint_exploitability,
    exploitability_games,
    exploitability_points,
)
from arena.services.players import entrants_play, player_agent, player_agents, player_for_checkpoint
from marl.bots import make_bot

LADDER_DEPTHS = (1, 2, 4)


def checkpoint_strength(*, checkpoint_id: int) -> dict[str, Any]:
    """Measure and store the checkpoint's strength; {} for a game without a reference (or while a
    connect-four entrant waits for a seat's checkpoint: its sibling's job measures it)."""
    checkpoint = Checkpoint.objects.select_related("agent__game").get(pk=checkpoint_id)
    game = checkpoint.agent.game.name
    if game == "connect_four" and not entrant_complete(checkpoint):
        return {}
    strength = player_strength(player=player_for_checkpoint(checkpoint=checkpoint), seat=checkpoint.seat)
    if not strength:
        return {}
    rows = Checkpoint.objects.filter(pk=checkpoint.pk) if game == "tictactoe" else entrant_rows(checkpoint)
    rows.update(strength=strength)
    live.publish(
        live.agent_group(checkpoint.agent_id),
        {
            "type": "strength",
            "checkpoint": checkpoint.pk,
            "version": checkpoint.version,
            "strength": strength,
        },
    )
    return strength


def player_strength(*, player: Player, seat: str) -> dict[str, Any]:
    """A player's strength: in tic-tac-toe against perfect play in `seat`, in connect four against the
    alpha-beta ladder in every seat it can take; {} in other games."""
    game = player.game.name
    if game == "tictactoe":
        from marl.solved import tictactoe_against_perfect_play  # lazy: a solver table

        report = tictactoe_against_perfect_play(player_agent(player=player, seat=seat, seed=0), seat)
        return {"kind": "perfect_play", **report.to_json()}
    if game == "connect_four":
        return _ladder(game, player_agents(player=player, seed=0), player.game.seats)
    return {}


def _ladder(game: str, me: dict[str, Any], seats: list[str]) -> dict[str, Any]:
    """Mean score per game against each rung, from the same openings for every rung."""
    seeds = list(range(settings.ARENA_STRENGTH_PAIRS))
    scores = {}
    for depth in LADDER_DEPTHS:
        bot = make_bot(game, f"alphabeta:{depth}")
        played = entrants_play(game, me, dict.fromkeys(seats, bot), seeds)
        scores[str(depth)] = round(sum(g.score for g in played) / len(played), 4)
    return {"kind": "alphabeta_ladder", "pairs": len(seeds), "seats": sorted(me), "scores": scores}


def checkpoints_measure_waiting(*, in_process: bool = False) -> dict[str, int]:
    """Rate and measure the checkpoints still waiting (rows from before these jobs, or whose message was
    lost): queue their jobs on the evaluation queue, or run them here with `in_process`."""
    waiting = Checkpoint.objects.filter(calibration_status=Checkpoint.PENDING).order_by("pk")
    entrants: dict[tuple[int, int], int] = {}
    for checkpoint in waiting.select_related("agent__game"):
        if entrant_complete(checkpoint):
            entrants.setdefault((checkpoint.agent_id, checkpoint.version), checkpoint.pk)
    unmeasured = Checkpoint.objects.filter(strength={}, agent__game__name__in=("tictactoe", "connect_four"))
    jobs = [("checkpoint_calibrate", pk) for pk in entrants.values()]
    jobs += [("checkpoint_strength", pk) for pk in unmeasured.order_by("pk").values_list("pk", flat=True)]
    unexploited = Checkpoint.objects.filter(exploitability={}, agent__game__name__in=exploitability_games())
    exploits = [
        ("checkpoint_exploitability", pk) for pk in unexploited.order_by("pk").values_list("pk", flat=True)
    ]
    services = {
        "checkpoint_calibrate": checkpoint_calibrate,
        "checkpoint_strength": checkpoint_strength,
        "checkpoint_exploitability": checkpoint_exploitability,
    }
    for name, pk in jobs + exploits:
        if in_process:
            services[name](checkpoint_id=pk)
        else:
            task_send(f"arena.tasks.{name}", pk)
    return {
        "calibrations": len(entrants),
        "strengths": len(jobs) - len(entrants),
        "exploitabilities": len(exploits),
    }


def strength_summary(strength: dict[str, Any]) -> str:
    """One line for a page: mistake share and loss rate, or the ladder's scores."""
    if strength.get("kind") == "perfect_play":
        return f"{strength['mistake_share']:.1%} mistakes, loses {strength['loss']:.1%} vs perfect play"
    if strength.get("kind") == "alphabeta_ladder":
        rungs = ", ".join(f"d{d} {s:.2f}" for d, s in strength["scores"].items())
        return f"vs alpha-beta: {rungs}"
    return ""


def strength_points(checkpoint: Checkpoint) -> list[tuple[str, float]]:
    """A checkpoint's strength as chart points: mistake share and loss rate against perfect play in its
    seat, or (once per entrant, on its first seat's row) the score against each alpha-beta depth."""
    data = checkpoint.strength or {}
    if data.get("kind") == "perfect_play":
        return [(f"mistakes {data['seat']}", data["mistake_share"]), (f"loss {data['seat']}", data["loss"])]
    if data.get("kind") == "alphabeta_ladder" and checkpoint.seat == checkpoint.agent.game.seats[0]:
        return [(f"vs alpha-beta {depth}", score) for depth, score in data["scores"].items()]
    return []


def league_strength(*, league: League) -> dict[str, Any]:
    """The league's champion tick by tick: the member whose new snapshot rated highest in that tick
    (its seats' mean Elo), its score against each anchor over every seat it played (win 1, draw 1/2),
    and its checkpoints' strength (`strength_points`: perfect play in tic-tac-toe, the alpha-beta ladder
    in connect four) and exact exploitability (`exploitability_points`: Leduc); both are measured by
    the evaluation workers, so the newest ticks may lack them for a while."""
    bots = [f"bot:{b}" for b in anchor_bots(league.game.name)]
    ticks = list(league.ticks.filter(status=LeagueTick.DONE).order_by("number"))
    ids = {row["checkpoint"] for tick in ticks for row in tick.results.values()}
    checkpoints = Checkpoint.objects.select_related("agent__game").in_bulk(ids)
    out: dict[str, Any] = {"champions": [], "vs_anchors": {}, "strength": {}, "exploitability": {}}
    for tick in ticks:
        champion = _champion(tick.results)
        if champion is None:
            continue
        out["champions"].append(
            {
                "tick": tick.number,
                "agent": champion[0]["agent"],
                "checkpoints": [row["checkpoint"] for row in champion],
                "rating": _mean_rating(champion),
            }
        )
        for bot in bots:
            w, d, lost = (sum(row["vs"].get(bot, [0, 0, 0])[i] for row in champion) for i in range(3))
            if w + d + lost:
                out["vs_anchors"].setdefault(f"vs {bot[4:]}", []).append(
                    [tick.number, round((w + d / 2) / (w + d + lost), 3)]
                )
        for row in champion:
            checkpoint = checkpoints.get(row["checkpoint"])
            for name, value in strength_points(checkpoint) if checkpoint else []:
                out["strength"].setdefault(name, []).append([tick.number, value])
            for name, value in exploitability_points(checkpoint) if checkpoint else []:
                out["exploitability"].setdefault(name, []).append([tick.number, value])
    return out


def _champion(results: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The rows (one per seat, without search) of the member that rated highest in a tick."""
    members: dict[int, list[dict[str, Any]]] = {}
    for row in results.values():
        if not row.get("search"):
            members.setdefault(row["member"], []).append(row)
    if not members:
        return None
    return max(members.values(), key=_rank)


def _rank(rows: list[dict[str, Any]]) -> float:
    """A member's mean rating in the tick; a member whose fit gave no rating ranks last (0 is a rating)."""
    mean = _mean_rating(rows)
    return float("-inf") if mean is None else mean


def _mean_rating(rows: list[dict[str, Any]]) -> float | None:
    ratings = [row["rating"] for row in rows if row.get("rating") is not None]
    return round(sum(ratings) / len(ratings), 1) if ratings else None
