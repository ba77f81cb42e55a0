"""Strength against perfect play, per checkpoint, measured by a worker after the checkpoint is written.

- tic-tac-toe (solved): the checkpoint in the seat it learned, walked over every position it can reach
  against a perfect player (`marl.solved`): the exact share of its moves that throw away the result,
  and its win/draw/loss rates against perfect play.
- connect four: its entrant's score against alpha-beta at depths 1, 2 and 4, over
  ARENA_STRENGTH_PAIRS game pairs per depth (one opening, seats swapped).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from arena import live
from arena.dispatch import task_send
from arena.models import Checkpoint, Player
from arena.services.calibration import checkpoint_calibrate, entrant_complete, entrant_rows
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
    for name, pk in jobs:
        if not in_process:
            task_send(f"arena.tasks.{name}", pk)
        elif name == "checkpoint_calibrate":
            checkpoint_calibrate(checkpoint_id=pk)
        else:
            checkpoint_strength(checkpoint_id=pk)
    return {"calibrations": len(entrants), "strengths": len(jobs) - len(entrants)}


def strength_summary(strength: dict[str, Any]) -> str:
    """One line for a page: mistake share and loss rate, or the ladder's scores."""
    if strength.get("kind") == "perfect_play":
        return f"{strength['mistake_share']:.1%} mistakes, loses {strength['loss']:.1%} vs perfect play"
    if strength.get("kind") == "alphabeta_ladder":
        rungs = ", ".join(f"d{d} {s:.2f}" for d, s in strength["scores"].items())
        return f"vs alpha-beta: {rungs}"
    return ""
