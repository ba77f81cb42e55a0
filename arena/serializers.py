"""Plain-dict views of the models, shared by the JSON API and the live pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from arena.forms import seat_label
from arena.models import Agent, Checkpoint, League, Match, Rating, Tournament, TournamentMatch, TrainingRun
from marl.games import GAMES


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def agent_json(agent: Agent, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": agent.pk,
        "name": agent.name,
        "owner": agent.owner.username,
        "game": agent.game.name,
        "algorithm": agent.algorithm,
        "network": agent.network,
        "seat": agent.seat or None,
        "created_at": _iso(agent.created_at),
    }
    if detail:
        data["latest_checkpoints"] = [checkpoint_json(c) for c in agent.latest_checkpoints()]
        data["runs"] = [run_json(r) for r in agent.training_runs.all()[:20]]
    return data


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "agent": checkpoint.agent_id,
        "agent_name": checkpoint.agent.name,
        "seat": checkpoint.seat,
        "version": checkpoint.version,
        "env_steps": checkpoint.env_steps,
        "sha256": checkpoint.sha256,
        "metrics": checkpoint.metrics,
        "parent": checkpoint.parent_id,
        "created_at": checkpoint.created_at.isoformat(),
        "calibration": {
            "status": checkpoint.calibration_status,
            "elo": checkpoint.calibration_elo,
            "low": checkpoint.calibration_low,
            "high": checkpoint.calibration_high,
            "games": checkpoint.calibration_games,
        },
        "strength": checkpoint.strength,
        "exploitability": checkpoint.exploitability or None,
    }


def checkpoint_row_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """What a run page's list of checkpoints written, and its agent page's table, show of one: its
    name, steps, metrics and links (play it from the seat it does not play, match it)."""
    game = checkpoint.agent.game
    other = next((s for s in game.seats if s != checkpoint.seat), "")
    play = {"game": game.name, "opponent": f"checkpoint:{checkpoint.pk}", "seat": other}
    return {
        "id": checkpoint.pk,
        "seat": checkpoint.seat,
        "seat_label": seat_label(game, checkpoint.seat),
        "version": checkpoint.version,
        "env_steps": checkpoint.env_steps,
        "label": checkpoint.label,
        "metrics": checkpoint.metrics,
        "calibration_status": checkpoint.calibration_status,
        "url": checkpoint.get_absolute_url(),
        "weights_url": reverse("checkpoint_download", args=[checkpoint.pk, "weights"]),
        "sidecar_url": reverse("checkpoint_download", args=[checkpoint.pk, "sidecar"]),
        "export_url": reverse("checkpoint_export", args=[checkpoint.pk]),
        "opponent_seat": other,
        "play_url": f"{reverse('play_new')}?{urlencode(play)}",
        "match_url": f"{reverse('match_create')}?{urlencode({'game': game.name, 'checkpoint': checkpoint.pk})}",
    }


def run_json(run: TrainingRun, *, detail: bool = False) -> dict[str, Any]:
    """A run's status and progress, for the API and the training sockets; `detail` adds config and stats."""
    data: dict[str, Any] = {
        "id": run.pk,
        "agent": run.agent_id,
        "status": run.status,
        "progress": round(run.progress, 4),
        "env_steps_done": run.env_steps_done,
        "env_steps_total": run.env_steps_total,
        "attempts": run.attempts,
        "cancel_requested": run.cancel_requested,
        "error": run.error or None,
        "failure": run.failure or None,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }
    if detail:
        data["config"] = run.config
        data["latest_stats"] = run.latest_stats
        data["stats"] = [{"env_steps": s.env_steps, **s.data} for s in run.stats.all()]
    return data


def match_json(match: Match, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": match.pk,
        "game": match.game.name,
        "status": match.status,
        "seats": {s.seat: s.player.label for s in match.seats.all()},
        "seed": None if match.seed_hidden else match.seed,
        "winner": match.winner or None,
        "reason": match.reason or None,
        "rated": match.rated,
        "hands": match.hands,
        "created_at": _iso(match.created_at),
        "finished_at": _iso(match.finished_at),
    }
    if detail:
        data["moves"] = match.moves
        data["result"] = match.result or None
        data["error"] = match.error or None
        data["opening_plies"] = match.opening_plies
        data["source"] = (
            {"match": match.source_match_id, "ply": match.source_ply} if match.source_match_id else None
        )
    return data


def rating_json(rating: Rating) -> dict[str, Any]:
    return {
        "player": rating.player.label,
        "kind": rating.player.kind,
        "pool": rating.pool,
        "mu": round(rating.mu, 3),
        "sigma": round(rating.sigma, 3),
        "conservative": round(rating.conservative, 3),
        "games": rating.games,
        "anchor": rating.player.is_anchor,
    }


# What a league's owner sets (and the API reads back), besides its game, name and members.
LEAGUE_SETTINGS = (
    "status",
    "interval_seconds",
    "env_steps_per_tick",
    "pool_size",
    "pool_bots",
    "self_play",
    "pfsp_mode",
    "pfsp_p",
    "eval_games",
    "eval_search",
    "train_overrides",
    "gating",
    "gate_elo0",
    "gate_elo1",
    "gate_alpha",
    "gate_beta",
    "gate_max_pairs",
)


def league_json(league: League) -> dict[str, Any]:
    return {
        "id": league.pk,
        "name": league.name,
        "game": league.game.name,
        "owner": league.owner.username,
        "members": [m.agent_id for m in sorted(league.memberships.all(), key=lambda m: m.pk)],
        **{name: getattr(league, name) for name in LEAGUE_SETTINGS},
        "tick_count": league.tick_count,
        "last_tick_at": _iso(league.last_tick_at),
    }


TOURNAMENT_PREFETCH = ("entries__player__checkpoint__agent",)


def _tournament_seed(tournament: Tournament) -> int | None:
    """The seed, kept secret while a game of hidden cards plays (it deals every match's cards)."""
    spec = GAMES.get(tournament.game.name)
    live = tournament.status in (Tournament.PENDING, Tournament.RUNNING)
    return None if spec and spec.hidden_information and live else tournament.seed


def tournament_json(tournament: Tournament) -> dict[str, Any]:
    """A tournament's settings, status and entrants (seed 1 first: a gauntlet's challenger)."""
    entries = sorted(tournament.entries.all(), key=lambda e: e.seed)  # prefetch `TOURNAMENT_PREFETCH`
    return {
        "id": tournament.pk,
        "name": tournament.name,
        "game": tournament.game.name,
        "owner": tournament.created_by.username if tournament.created_by else None,
        "format": tournament.format,
        "status": tournament.status,
        "participants": [e.player.label for e in entries],
        "games_per_pair": tournament.games_per_pair,
        "rounds": tournament.rounds,
        "batch_size": tournament.batch_size,
        "max_attempts": tournament.max_attempts,
        "opening_plies": tournament.opening_plies,
        "openings": len(tournament.openings),
        "temperature": tournament.temperature,
        "hands": tournament.hands,
        "seed": _tournament_seed(tournament),
        "created_at": _iso(tournament.created_at),
        "finished_at": _iso(tournament.finished_at),
    }


def tournament_rounds_json(tournament: Tournament, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Each round's status, its matches' ids and how many are recorded, and its byes by name."""
    matches: dict[int, list[tuple[int, str]]] = {}
    rows = TournamentMatch.objects.filter(round__tournament=tournament).order_by("match_id")
    for round_id, match_id, status in rows.values_list("round_id", "match_id", "match__status"):
        matches.setdefault(round_id, []).append((match_id, status))
    return [
        {
            "number": rnd.number,
            "status": rnd.status,
            "matches": [pk for pk, _ in matches.get(rnd.pk, [])],
            "recorded": sum(s in (Match.FINISHED, Match.FAILED) for _, s in matches.get(rnd.pk, [])),
            "byes": [labels.get(str(b), str(b)) for b in rnd.data.get("byes", [])],
            "completed_at": _iso(rnd.completed_at),
        }
        for rnd in tournament.round_set.order_by("number")
    ]
