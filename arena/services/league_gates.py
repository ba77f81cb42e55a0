"""Gating: a league member's new snapshot replaces its champion only when an SPRT accepts it.

The challenger and the champion are entrants (a player per seat: the member's checkpoint for that
seat). They play game pairs (one opening, seats swapped) in batches of ARENA_GATE_BATCH_PAIRS; each
batch's pair scores go into a pentanomial SPRT (`marl.sprt.SprtState`: elo0, elo1, alpha and beta from
the league) whose state is stored as JSON after the batch, so a restarted worker resumes from the
stored counts. The test accepts (the challenger becomes champion), rejects (it stays in the registry,
rated like every checkpoint, but not champion), or gives up after the league's `gate_max_pairs` pairs
(a reject). The LLR and its bounds go to the league's group after every batch.

In poker a pair is one deal played twice with seats swapped (duplicate hands), not a whole match: the
test only says whether the challenger is better, and a hand pair tells it far more cheaply than a
match that is mostly a draw between close snapshots; ratings use matches (`players.entrants_play`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from arena import live
from arena.models import Checkpoint, League, LeagueGate, LeagueMember, Player
from arena.services.players import entrants_play, pair_scores, player_agent, player_for_checkpoint
from marl.errors import MarlError
from marl.sprt import SprtState


def gate_settings_check(fields: dict[str, Any]) -> None:
    """The league's SPRT settings make a valid test (elo0 < elo1, error rates in (0, 1))."""
    names = ("gate_elo0", "gate_elo1", "gate_alpha", "gate_beta")
    values = {name: fields.get(name, League._meta.get_field(name).default) for name in names}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{name} must be a number, got {value!r}")
    try:
        SprtState(
            elo0=values["gate_elo0"],
            elo1=values["gate_elo1"],
            alpha=values["gate_alpha"],
            beta=values["gate_beta"],
        )
    except MarlError as exc:
        raise ValidationError(f"gating: {exc}") from None


def gate_members_check(agents: list[Any]) -> None:
    """A gated member plays its champion in every seat, so it must learn every seat."""
    for agent in agents:
        if agent.seat:
            raise ValidationError(
                f"gating plays a snapshot against its champion in every seat, but agent {agent.name!r} "
                f"learns only {agent.seat}"
            )


def gate_open(
    *, league: League, member: LeagueMember, tick: int, checkpoints: dict[str, Checkpoint]
) -> LeagueGate | None:
    """Start the test of a member's new snapshot (a checkpoint per seat) against its champion; None
    when the member has no champion yet: its first snapshot becomes champion without a test."""
    challenger = {seat: player_for_checkpoint(checkpoint=c).pk for seat, c in checkpoints.items()}
    if not member.champions:
        LeagueMember.objects.filter(pk=member.pk).update(champions=challenger)
        member.champions = challenger
        return None
    state = SprtState(
        elo0=league.gate_elo0, elo1=league.gate_elo1, alpha=league.gate_alpha, beta=league.gate_beta
    )
    return LeagueGate.objects.create(
        league=league,
        member=member,
        tick=tick,
        challenger=challenger,
        champion=member.champions,
        state=state.to_json(),
    )


def league_gate_run(*, gate_id: int, max_batches: int | None = None) -> str:
    """Play batches until the SPRT decides (or the pair budget is spent); returns the gate's status.

    Resumes from the stored state; `max_batches` stops early (still "running"). A batch is stored only
    on top of the state it was played from, so two copies of the job never count a batch twice.
    """
    gate = LeagueGate.objects.select_related("league__game").get(pk=gate_id)
    if gate.status != LeagueGate.RUNNING:
        return gate.status
    game = gate.league.game
    challenger, champion = _entrant(gate.challenger), _entrant(gate.champion)
    batches = 0
    while True:
        gate.refresh_from_db()
        state = SprtState.from_json(gate.state)
        verdict = state.verdict()
        if verdict == "continue" and state.pairs >= gate.league.gate_max_pairs:
            verdict = "reject"
        if gate.status != LeagueGate.RUNNING or verdict != "continue":
            return _close(gate, state, verdict)
        if max_batches is not None and batches >= max_batches:
            return gate.status
        base = (gate.pk * 1_000_003 + state.pairs) % 2**31
        seeds = list(range(base, base + settings.ARENA_GATE_BATCH_PAIRS))
        grown = state.add_pairs(
            pair_scores(entrants_play(game.name, challenger, champion, seeds, hands=True))
        )
        stored = LeagueGate.objects.filter(pk=gate.pk, pairs=state.pairs, status=LeagueGate.RUNNING).update(
            state=grown.to_json(), pairs=grown.pairs, llr=grown.llr()
        )
        if stored:
            _publish(gate, grown, "gate_progress")
        batches += 1


def _entrant(players: dict[str, int]) -> dict[str, Any]:
    """A `marl` agent per seat from {seat: player id}."""
    rows = Player.objects.select_related("game", "checkpoint__agent__game").in_bulk(players.values())
    return {seat: player_agent(player=rows[int(pk)], seat=seat, seed=int(pk)) for seat, pk in players.items()}


def _close(gate: LeagueGate, state: SprtState, verdict: str) -> str:
    """Record the verdict once; an accepted challenger becomes the member's champion."""
    status = LeagueGate.ACCEPTED if verdict == "accept" else LeagueGate.REJECTED
    with transaction.atomic():
        closed = LeagueGate.objects.filter(pk=gate.pk, status=LeagueGate.RUNNING).update(
            status=status, finished_at=timezone.now(), llr=state.llr(), pairs=state.pairs
        )
        if closed and status == LeagueGate.ACCEPTED:
            LeagueMember.objects.filter(pk=gate.member_id).update(champions=gate.challenger)
    gate.refresh_from_db()
    if closed:
        _publish(gate, state, "gate_finished")
    return gate.status


def gate_json(gate: LeagueGate, state: SprtState | None = None) -> dict[str, Any]:
    """The test's standing for pages and sockets: LLR, its bounds, pairs, games and status."""
    state = state or SprtState.from_json(gate.state)
    lower, upper = state.bounds()
    return {
        "gate": gate.pk,
        "member": gate.member_id,
        "tick": gate.tick,
        "status": gate.status,
        "llr": round(state.llr(), 3),
        "lower": round(lower, 3),
        "upper": round(upper, 3),
        "pairs": state.pairs,
        "games": 2 * state.pairs,
        "counts": list(state.counts),
        "elo0": state.elo0,
        "elo1": state.elo1,
    }


def _publish(gate: LeagueGate, state: SprtState, event: str) -> None:
    live.publish(
        live.league_group(gate.league_id),
        {"type": "league", "event": event, "league_id": gate.league_id, **gate_json(gate, state)},
    )
