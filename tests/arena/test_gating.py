"""SPRT gating: a member's new snapshot becomes champion only when the pentanomial SPRT over game pairs
accepts it against the champion; the test's state is stored after each batch and resumes after a restart."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena.models import LeagueGate, LeagueMember, LeagueTick
from arena.services import leagues
from arena.services.league_gates import gate_json, gate_open, league_gate_run
from tests.factories import AgentFactory, CheckpointFactory, LeagueFactory, bot_gate, bots_in_both_seats

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(user) -> LeagueMember:
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk], gating=True)
    return league.memberships.get()


def test_gating_accepts_a_clearly_stronger_snapshot(member, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 8
    gate = bot_gate(member, challenger="minimax", champion="random")
    assert league_gate_run(gate_id=gate.pk) == LeagueGate.ACCEPTED
    gate.refresh_from_db()
    member.refresh_from_db()
    assert member.champions == gate.challenger
    summary = gate_json(gate)
    assert summary["llr"] >= summary["upper"] and summary["games"] == 2 * gate.pairs > 0


def test_gating_rejects_a_weaker_snapshot_and_keeps_the_champion(member, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 8
    gate = bot_gate(member, challenger="random", champion="minimax")
    assert league_gate_run(gate_id=gate.pk) == LeagueGate.REJECTED
    gate.refresh_from_db()
    member.refresh_from_db()
    assert member.champions == bots_in_both_seats("minimax")
    assert gate.llr <= gate_json(gate)["lower"] and gate.finished_at is not None


def test_a_gate_resumes_from_its_stored_counts_after_a_restart(member, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 2
    gate = bot_gate(member, challenger="minimax", champion="random")
    assert league_gate_run(gate_id=gate.pk, max_batches=1) == LeagueGate.RUNNING  # the worker dies here
    gate.refresh_from_db()
    counts = gate.state["counts"]
    assert gate.pairs == sum(counts) == 2 and gate.llr > 0
    league_gate_run(gate_id=gate.pk, max_batches=1)  # a new worker picks the test up
    gate.refresh_from_db()
    assert gate.pairs == 4 and all(
        now >= before for now, before in zip(gate.state["counts"], counts, strict=True)
    )
    assert league_gate_run(gate_id=gate.pk) == LeagueGate.ACCEPTED


def test_a_gate_gives_up_after_its_pair_budget(member, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 2
    member.league.gate_max_pairs = 2
    member.league.save(update_fields=["gate_max_pairs"])
    gate = bot_gate(member, challenger="minimax", champion="minimax")  # equal: the test cannot decide in 2
    assert league_gate_run(gate_id=gate.pk) == LeagueGate.REJECTED
    assert LeagueGate.objects.get(pk=gate.pk).pairs == 2


def test_a_members_first_snapshot_becomes_champion_without_a_test(member, media_root):
    agent = member.agent
    snapshot = {
        s: CheckpointFactory(agent=agent, seat=s, version=1, seed=i) for i, s in enumerate(agent.game.seats)
    }
    assert gate_open(league=member.league, member=member, tick=1, checkpoints=snapshot) is None
    member.refresh_from_db()
    assert set(member.champions) == {"player_1", "player_2"}
    later = {
        s: CheckpointFactory(agent=agent, seat=s, version=2, seed=5 + i)
        for i, s in enumerate(agent.game.seats)
    }
    gate = gate_open(league=member.league, member=member, tick=2, checkpoints=later)
    assert gate.champion == member.champions and gate.status == LeagueGate.RUNNING


def test_gating_settings_must_make_a_valid_test(user):
    agent = AgentFactory(owner=user)
    with pytest.raises(ValidationError, match="elo0 must be below elo1"):
        LeagueFactory(user=user, members=[agent.pk], gating=True, gate_elo0=10.0, gate_elo1=5.0)
    with pytest.raises(ValidationError, match="alpha"):
        LeagueFactory(user=user, members=[agent.pk], gate_alpha=0.7, gate_beta=0.5)


def test_gating_refuses_a_member_that_learns_one_seat(user):
    with pytest.raises(ValidationError, match="learns only player_1"):
        LeagueFactory(user=user, members=[AgentFactory(owner=user, seat="player_1").pk], gating=True)


def test_a_gated_league_tick_makes_the_first_snapshot_champion_then_tests_the_next(user, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 4
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk], gating=True, gate_max_pairs=8)
    for number in (1, 2):
        assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == number
        assert LeagueTick.objects.get(league=league, number=number).status == LeagueTick.DONE
    member = league.memberships.get()
    gate = LeagueGate.objects.get(league=league)
    assert gate.tick == 2 and gate.status in (LeagueGate.ACCEPTED, LeagueGate.REJECTED) and gate.pairs <= 8
    assert member.champions == (gate.challenger if gate.status == LeagueGate.ACCEPTED else gate.champion)


def test_the_league_page_shows_each_gates_llr_bounds_and_verdict(member, user_client, settings):
    settings.ARENA_GATE_BATCH_PAIRS = 8
    gate = bot_gate(member, challenger="minimax", champion="random")
    league_gate_run(gate_id=gate.pk)
    summary = gate_json(LeagueGate.objects.get(pk=gate.pk))
    page = user_client.get(f"/leagues/{member.league_id}/").content.decode()
    assert "Gating" in page and f'data-gate="{gate.pk}"' in page
    assert f"[{summary['lower']:.2f}, {summary['upper']:.2f}]" in page and "accepted" in page
    assert f"{summary['games']}</td>" in page
