"""Calibration: every checkpoint gets a rating with an interval, without anyone asking.

A checkpoint stands for its entrant (its agent at its version, a checkpoint per seat learned). The
entrant plays game pairs from openings against the anchors (reference bots at their pinned Elo) and
the checkpoints rated nearest to it; each batch goes to the opponent where a game tells the most (the
expected score nearest one half once the uncertainty of both is counted), and after each batch
`marl.elo_fit` refits its rating with the opponents held at their Elo. It stops when the interval's
half width is at most ARENA_CALIBRATION_HALF_WIDTH ("rated") or ARENA_CALIBRATION_GAMES games were
played ("budget_spent"). The games so far are stored on the rows after each batch, so a restarted
worker resumes where the last one stopped.

In poker a game is one poker match of the game's `hands_per_match` hands (duplicate when both play
both seats), scored as the pools score it (`PokerMatch.match_result`), and a batch's "pair" is one
match: `players.entrants_play` plays them. The budget is then POKER_CALIBRATION_MATCHES at most.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.functions import Abs

from arena import live
from arena.models import Checkpoint, Game, Player
from arena.services.anchors import anchor_elo
from arena.services.players import (
    entrant_checkpoints,
    entrants_play,
    player_agents,
    player_for_bot,
    player_for_checkpoint,
)
from arena.services.poker_matches import poker_game_is
from marl.elo_fit import elo_fit
from marl.errors import MarlError

ME = "me"
# BayesElo's prior: a virtual draw against each opponent keeps an unbeaten entrant's rating finite.
PRIOR_DRAWS = 1.0
NEAREST = 6  # rated checkpoints considered as opponents, nearest first
# A poker game is a 200-hand match, about 0.4 s of CPU for a checkpoint against a bot (Leduc), so the
# 200 games of ARENA_CALIBRATION_GAMES would be well over a minute a checkpoint: poker stops at 100.
POKER_CALIBRATION_MATCHES = 100
_NATURAL_PER_ELO = math.log(10.0) / 400.0


def entrant_rows(checkpoint: Checkpoint) -> QuerySet[Checkpoint]:
    """Every checkpoint of `checkpoint`'s entrant (its agent at its version): they share one rating."""
    return Checkpoint.objects.filter(agent_id=checkpoint.agent_id, version=checkpoint.version)


def entrant_complete(checkpoint: Checkpoint) -> bool:
    """Whether the entrant has its checkpoint for every seat its agent learns (a run records them one
    after another, so the first row of a version waits for its siblings)."""
    seats = entrant_checkpoints(agent=checkpoint.agent, version=checkpoint.version)
    return set(checkpoint.agent.learning_seats) <= set(seats)


def checkpoint_calibrate(*, checkpoint_id: int, max_batches: int | None = None) -> str:
    """Play and refit batch by batch until the interval is narrow enough or the budget is spent.

    Returns the status: "pending" while the entrant lacks a seat's checkpoint (its sibling's job rates
    it) or when `max_batches` ran out, else "rated" or "budget_spent". Safe to run twice: a batch is
    stored only on top of the record it was played from.
    """
    checkpoint = Checkpoint.objects.select_related("agent__game").get(pk=checkpoint_id)
    if checkpoint.calibration_status != Checkpoint.PENDING or not entrant_complete(checkpoint):
        return checkpoint.calibration_status
    me = player_agents(player=player_for_checkpoint(checkpoint=checkpoint))
    batches = 0
    while True:
        record = _record(checkpoint)
        fit = _fit(record)
        status = _status(record, fit, budget=_budget(checkpoint))
        if status != Checkpoint.PENDING or (max_batches is not None and batches >= max_batches):
            _store(checkpoint, record, fit, status, expected_games=len(record["games"]))
            return status
        opponent, elo = next_opponent(checkpoint, record, fit)
        played = _play_batch(checkpoint, me, opponent, len(record["games"]))
        label = _label(opponent)
        grown = {
            "games": record["games"] + [[ME, label, s] if a else [label, ME, 1 - s] for a, s in played],
            "opponents": {**record["opponents"], label: record["opponents"].get(label, elo)},
        }
        _store(checkpoint, grown, _fit(grown), Checkpoint.PENDING, expected_games=len(record["games"]))
        batches += 1


def _record(checkpoint: Checkpoint) -> dict[str, Any]:
    """The stored games ([first, second, score]) and the opponents' Elo they were fitted against."""
    checkpoint.refresh_from_db(fields=["calibration_record", "calibration_games", "calibration_status"])
    record = checkpoint.calibration_record or {}
    return {"games": list(record.get("games", [])), "opponents": dict(record.get("opponents", {}))}


def _fit(record: dict[str, Any]) -> tuple[float, float, float] | None:
    """The entrant's (Elo, low, high) from its games, or None before a fit exists."""
    if not record["games"]:
        return None
    try:
        fit = elo_fit(
            [tuple(g) for g in record["games"]], anchors=record["opponents"], prior_draws=PRIOR_DRAWS
        )
    except MarlError:
        return None
    return fit.ratings[ME]


def _budget(checkpoint: Checkpoint) -> int:
    """The games a calibration may play: ARENA_CALIBRATION_GAMES, in poker POKER_CALIBRATION_MATCHES at
    most (a game there is a whole match)."""
    budget = settings.ARENA_CALIBRATION_GAMES
    return min(budget, POKER_CALIBRATION_MATCHES) if poker_game_is(checkpoint.agent.game.name) else budget


def _status(record: dict[str, Any], fit: tuple[float, float, float] | None, *, budget: int) -> str:
    if fit is not None and (fit[2] - fit[1]) / 2 <= settings.ARENA_CALIBRATION_HALF_WIDTH:
        return Checkpoint.RATED
    if len(record["games"]) >= budget:
        return Checkpoint.BUDGET_SPENT
    return Checkpoint.PENDING


def _candidates(checkpoint: Checkpoint, estimate: float) -> list[tuple[Player, float, float]]:
    """(player, Elo, half width): the anchors, then the rated checkpoints nearest `estimate` whose
    entrant has a policy for every seat, so it can face any entrant (one candidate per entrant)."""
    game: Game = checkpoint.agent.game
    found = [(player_for_bot(game=game, bot=bot), elo, 0.0) for bot, elo in anchor_elo(game.name).items()]
    rated = (
        Checkpoint.objects.filter(agent__game=game, calibration_elo__isnull=False, seat=game.seats[0])
        .exclude(calibration_status=Checkpoint.PENDING)
        .exclude(agent_id=checkpoint.agent_id, version=checkpoint.version)
        .annotate(gap=Abs(F("calibration_elo") - Value(float(estimate), output_field=FloatField())))
        .order_by("gap")
        .select_related("agent__game")
    )
    for other in rated[: 8 * NEAREST]:
        if len(found) == len(anchor_elo(game.name)) + NEAREST:
            break
        if len(entrant_checkpoints(agent=other.agent, version=other.version)) == len(game.seats):
            found.append(
                (player_for_checkpoint(checkpoint=other), other.calibration_elo, other.calibration_half_width)
            )
    return found


def expected_information(estimate: float, half: float, elo: float, other_half: float) -> float:
    """How much a game tells: p (1 - p) for the expected score p, with both ratings' uncertainty
    flattening the logistic curve (a probit approximation), so an uncertain match-up counts as close."""
    sd = math.hypot(half, other_half) / 1.96 * _NATURAL_PER_ELO
    scale = math.sqrt(1.0 + math.pi * sd * sd / 8.0)
    p = 1.0 / (1.0 + 10.0 ** (-(estimate - elo) / (400.0 * scale)))
    return p * (1.0 - p)


def next_opponent(
    checkpoint: Checkpoint, record: dict[str, Any], fit: tuple[float, float, float] | None
) -> tuple[Player, float]:
    """The opponent where the next batch tells the most; an opponent met before keeps its Elo."""
    estimate, half = (fit[0], (fit[2] - fit[1]) / 2) if fit else (0.0, 400.0)
    candidates = _candidates(checkpoint, estimate)
    for i, (player, elo, other_half) in enumerate(candidates):
        elo = record["opponents"].get(_label(player), elo)
        candidates[i] = (player, elo, other_half)
    player, elo, _ = max(candidates, key=lambda c: expected_information(estimate, half, c[1], c[2]))
    return player, elo


def _label(player: Player) -> str:
    return f"bot:{player.bot}" if player.kind == Player.BOT else f"checkpoint:{player.checkpoint_id}"


def _play_batch(checkpoint: Checkpoint, me: dict, opponent: Player, done: int) -> list[tuple[bool, float]]:
    """ARENA_CALIBRATION_BATCH_PAIRS game pairs (in poker, matches); (the entrant took the first seat,
    its score) per game. Seeds follow from the checkpoint and the games so far: a resumed job plays new openings."""
    pairs = settings.ARENA_CALIBRATION_BATCH_PAIRS
    base = (checkpoint.pk * 1_000_003 + done * 7) % 2**31
    seeds = list(range(base, base + pairs))
    them = player_agents(player=opponent, seed=base)
    first = checkpoint.agent.game.seats[0]
    return [(g.a_seat == first, g.score) for g in entrants_play(checkpoint.agent.game.name, me, them, seeds)]


def _store(
    checkpoint: Checkpoint,
    record: dict[str, Any],
    fit: tuple[float, float, float] | None,
    status: str,
    *,
    expected_games: int,
) -> bool:
    """Write the record and rating on every row of the entrant, only if no other job stored a batch
    since this one read the record (then the caller reads it again); publish it to the agent page."""
    elo, low, high = fit if fit else (None, None, None)
    stored = (
        entrant_rows(checkpoint)
        .filter(calibration_games=expected_games)
        .update(
            calibration_record=record,
            calibration_games=len(record["games"]),
            calibration_status=status,
            calibration_elo=elo,
            calibration_low=low,
            calibration_high=high,
        )
    )
    if stored:
        checkpoint.refresh_from_db()
        _publish(checkpoint)
    return bool(stored)


def calibration_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint's calibration for pages and sockets."""
    half = checkpoint.calibration_half_width
    return {
        "status": checkpoint.calibration_status,
        "elo": None if checkpoint.calibration_elo is None else round(checkpoint.calibration_elo, 1),
        "half_width": None if half is None else round(half, 1),
        "games": checkpoint.calibration_games,
    }


def calibration_text(calibration: dict[str, Any]) -> str:
    """The line a page shows: "rating pending" with the interval so far, then the rating with its
    interval (the same words as `training.js`)."""
    fitted = calibration["elo"] is not None
    rating = f"{calibration['elo']:.0f} ±{calibration['half_width']:.0f}" if fitted else ""
    if calibration["status"] == Checkpoint.PENDING:
        return f"rating pending ({rating})" if fitted else "rating pending"
    if calibration["status"] == Checkpoint.BUDGET_SPENT:
        return f"{rating} (budget spent)"
    return rating


def _publish(checkpoint: Checkpoint) -> None:
    rows = entrant_rows(checkpoint).values_list("pk", flat=True)
    live.publish(
        live.agent_group(checkpoint.agent_id),
        {
            "type": "calibration",
            "checkpoints": list(rows),
            "version": checkpoint.version,
            "calibration": calibration_json(checkpoint),
        },
    )
