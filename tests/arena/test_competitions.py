"""Tournaments and leagues: rounds played by a real worker, exactly-once advancing, Swiss pairing, league
ticks that train, snapshot, evaluate and rate, and refusals of bad input."""

from __future__ import annotations

import io
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from arena.management.commands.tournament import tournament_run
from arena.models import (
    Agent,
    Checkpoint,
    League,
    LeagueResult,
    LeagueSnapshot,
    LeagueTick,
    Match,
    Rating,
    Tournament,
    TournamentRound,
    TrainingRun,
)
from arena.services import leagues, tournaments
from arena.services.agents import agent_create
from tests.arena.conftest import wait_until

TINY_TRAIN = {"num_envs": 2, "batch_size": 16, "step_per_collect": 16, "buffer_size": 500}


def _checkpoint(agent: Agent, seat: str, version: int = 1, *, seed: int = 0) -> Checkpoint:
    """A checkpoint of untrained (randomly initialised) weights: a real file a match can load, in ms."""
    import torch

    from marl.checkpoints import save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    spec = get_game(agent.game.name)
    torch.manual_seed(seed)
    net = build_network(agent.network, spec.obs_shape, spec.n_actions)
    directory = Path(settings.MEDIA_ROOT) / "agents" / str(agent.pk)
    path = save_checkpoint(
        directory,
        f"{seat}-v{version}",
        weights=net.state_dict(),
        state=None,
        meta={
            "game": spec.name,
            "env_id": spec.env_id,
            "algorithm": agent.algorithm,
            "network": agent.network,
            "agent_id": seat,
            "env_steps": 0,
        },
    )
    return Checkpoint.objects.create(
        agent=agent, seat=seat, version=version, path=str(path.relative_to(settings.MEDIA_ROOT)), sha256=""
    )


def _agent(user, name: str, game: str = "tictactoe", **kwargs) -> Agent:
    return agent_create(owner=user, game=game, name=name, network={"kind": "mlp", "hidden": [16]}, **kwargs)


def _specs(user, n_checkpoints: int, game: str = "tictactoe") -> list[str]:
    agent = _agent(user, f"cp-{game}", game)
    seat = agent.game.seats[0]
    return [f"checkpoint:{_checkpoint(agent, seat, v, seed=v).pk}" for v in range(1, n_checkpoints + 1)]


def test_a_four_player_round_robin_finishes_with_the_standings_its_results_imply(celery_worker, user):
    participants = ["bot:minimax", "bot:random", *_specs(user, 2)]
    tournament = tournaments.tournament_create(
        user=user, game="tictactoe", format="round_robin", participants=participants, games_per_pair=2, seed=1
    )
    wait_until(
        lambda: Tournament.objects.get(pk=tournament.pk).status == Tournament.FINISHED,
        timeout=120,
        message="the round robin to finish",
    )
    tournament.refresh_from_db()
    rounds = list(tournament.round_set.all())
    assert [r.number for r in rounds] == [1, 2, 3] and {r.status for r in rounds} == {
        TournamentRound.COMPLETE
    }
    matches = Match.objects.filter(tournament_match__round__tournament=tournament)
    assert matches.count() == 12 and set(matches.values_list("status", flat=True)) == {Match.FINISHED}

    # Recompute every player's points from the stored seat scores and compare with the table.
    points: Counter[str] = Counter()
    for match in matches.prefetch_related("seats"):
        first, second = sorted(match.seats.all(), key=lambda s: s.seat)
        a, b = str(first.player_id), str(second.player_id)
        points[a] += 1.0 if first.score > second.score else 0.5 if first.score == second.score else 0.0
        points[b] += 1.0 if second.score > first.score else 0.5 if first.score == second.score else 0.0
    table = tournament.table["standings"]
    assert {row["player"]: row["points"] for row in table} == dict(points)
    assert [row["points"] for row in table] == sorted(points.values(), reverse=True)
    assert all(row["games"] == 6 for row in table)
    minimax = next(row for row in table if row["label"] == "bot:minimax")
    assert minimax["losses"] == 0 and minimax["rank"] == 1
    assert all("bt_lo" in row and row["bt_lo"] <= row["bt"] <= row["bt_hi"] for row in table)
    # The anchors kept their pinned ratings; the checkpoints were rated.
    assert Rating.objects.get(player__bot="minimax", pool="tictactoe").sigma == 1.0
    assert Rating.objects.filter(player__kind="checkpoint", games=6).count() == 2


def test_a_failing_match_is_retried_then_recorded_as_failed_without_blocking_the_round(celery_worker, user):
    broken, fine = _specs(user, 2)
    Path(Checkpoint.objects.get(pk=int(broken.split(":")[1])).absolute_path()).unlink()
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="gauntlet",
        participants=["bot:minimax", broken, fine],
        games_per_pair=1,
        max_attempts=3,
    )
    wait_until(
        lambda: Tournament.objects.get(pk=tournament.pk).status == Tournament.FINISHED,
        timeout=60,
        message="the gauntlet to finish",
    )
    matches = Match.objects.filter(tournament_match__round__tournament=tournament)
    failed = matches.get(seats__player__checkpoint=int(broken.split(":")[1]))
    assert failed.status == Match.FAILED and failed.attempts == 3 and "safetensors" in failed.error
    assert matches.exclude(pk=failed.pk).get().status == Match.FINISHED


@pytest.mark.django_db
def test_swiss_pairs_no_rematches_while_avoidable(user):
    participants = ["bot:minimax", "bot:random", *_specs(user, 4)]
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="swiss",
        participants=participants,
        games_per_pair=2,
        rounds=3,
        batch_size=8,
        start=False,
    )
    tournament = tournament_run(tournament_id=tournament.pk)
    assert tournament.status == Tournament.FINISHED
    pairs = [frozenset(p) for r in tournament.round_set.all() for p in r.data["pairs"]]
    # With 6 players a rematch-free round exists while rounds <= 3 (each player still has at least
    # n/2 unmet opponents, so by Dirac's theorem the unmet graph has a perfect matching).
    assert len(pairs) == 9 and len(set(pairs)) == 9
    assert sum(row["games"] for row in tournament.table["standings"]) == 2 * 2 * 9


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_advances_of_a_round_create_one_next_round(user, monkeypatch):
    monkeypatch.setattr(tournaments, "_dispatch", lambda *args, **kwargs: None)
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:minimax", "bot:random", *_specs(user, 2)],
        games_per_pair=1,
    )
    first = tournament.round_set.get()
    for match in Match.objects.filter(tournament_match__round=first):
        match.status = Match.FINISHED
        match.save()
        match.seats.update(score=0.0)
    barrier, outcomes = threading.Barrier(2), []

    def advance() -> None:
        try:
            barrier.wait()
            outcomes.append(tournaments.tournament_advance(tournament_id=tournament.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=advance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o is None for o in outcomes) == [False, True]
    assert list(tournament.round_set.values_list("number", flat=True)) == [1, 2]
    assert Match.objects.filter(tournament_match__round__number=2).count() == 2


def _league(user, **kwargs) -> League:
    agent = _agent(user, "leaguer", seat="player_1")
    fields = {"env_steps_per_tick": 64, "eval_games": 4, "train_overrides": TINY_TRAIN, **kwargs}
    return leagues.league_create(user=user, game="tictactoe", name="tiny", members=[agent.pk], **fields)


def test_a_league_tick_trains_snapshots_evaluates_and_rates(celery_worker, user):
    from arena.tasks import league_tick

    league = _league(user)
    league_tick.delay(league.pk)
    tick = wait_until(
        lambda: LeagueTick.objects.filter(league=league, status__in=("done", "failed")).first(),
        timeout=240,
        message="the tick to end",
    )
    assert tick.status == LeagueTick.DONE, tick.error
    run = TrainingRun.objects.get(agent__leagues=league)
    assert run.status == TrainingRun.COMPLETED and run.config["opponent"] == "pool"
    assert run.config["pool"] == ["random", "minimax"]  # the first tick: no snapshots yet, so the bots
    snapshot = LeagueSnapshot.objects.get(league=league)
    assert snapshot.checkpoint.training_run == run and snapshot.tick == 1
    evaluations = LeagueResult.objects.filter(tick=tick)
    assert {e.opponent.label for e in evaluations} == {"bot:random", "bot:minimax"}
    assert all(e.games == 4 for e in evaluations)
    rating = Rating.objects.get(player__checkpoint=snapshot.checkpoint)
    assert rating.games == 8
    row = tick.results[f"{snapshot.member_id}:player_1"]
    assert row["rating"] is not None and row["vs"]["bot:minimax"][0] == 0  # minimax is never beaten
    league.refresh_from_db()
    assert league.periodic_task.enabled and league.lease_owner == "" and league.tick_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_tick_started_while_one_runs_does_nothing(user, monkeypatch):
    league = _league(user)
    started, release = threading.Event(), threading.Event()

    def slow_training(*args, **kwargs):
        started.set()
        release.wait(30)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(leagues, "member_train", slow_training)
    first = threading.Thread(
        target=lambda: (leagues.league_tick(league_id=league.pk, worker="one"), connection.close())
    )
    first.start()
    assert started.wait(30)
    assert leagues.league_tick(league_id=league.pk, worker="two", force=True) is None
    assert leagues.league_tick(league_id=league.pk, worker="three") is None
    release.set()
    first.join(30)
    assert list(LeagueTick.objects.filter(league=league).values_list("number", "worker")) == [(1, "one")]
    # The lease is free again; a scheduled tick still waits half an interval, a forced one runs.
    assert leagues.league_tick(league_id=league.pk, worker="four") is None
    assert leagues.league_tick(league_id=league.pk, worker="five", force=True) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"format": "double_elimination"}, ValidationError, "unknown format 'double_elimination'"),
        ({"participants": ["bot:random"]}, ValidationError, "needs at least 2 participants, got 1"),
        (
            {"participants": ["bot:random", "bot:alphabeta"]},
            ValidationError,
            "unknown bot 'alphabeta' for tictactoe",
        ),
        ({"participants": ["bot:random", "FOREIGN"]}, ValidationError, "is for connect_four, not tictactoe"),
        ({"participants": ["bot:random", "bot:random"]}, ValidationError, "is listed twice"),
        ({"user": None}, PermissionDenied, "sign in"),
    ],
)
def test_bad_tournament_input_is_refused_with_a_clear_message(user, change, error, message):
    if "FOREIGN" in change.get("participants", []):
        change = {"participants": ["bot:random", _specs(user, 1, game="connect_four")[0]]}
    kwargs = {
        "user": user,
        "game": "tictactoe",
        "format": "round_robin",
        "participants": ["bot:random", "bot:minimax"],
        **change,
    }
    with pytest.raises(error, match=message):
        tournaments.tournament_create(**kwargs)
    assert not Tournament.objects.exists()


@pytest.mark.django_db
def test_only_the_creator_starts_a_tournament_and_only_owners_enter_agents_in_leagues(user, other_user):
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="gauntlet",
        participants=["bot:minimax", "bot:random"],
        start=False,
    )
    with pytest.raises(PermissionDenied, match="only the tournament's creator"):
        tournaments.tournament_start(user=other_user, tournament_id=tournament.pk)
    mine = _agent(user, "mine")
    with pytest.raises(PermissionDenied, match="belongs to another user"):
        leagues.league_create(user=other_user, game="tictactoe", name="theirs", members=[mine.pk])
    with pytest.raises(ValidationError, match="plays tictactoe, not connect_four"):
        leagues.league_create(user=user, game="connect_four", name="wrong game", members=[mine.pk])
    with pytest.raises(ValidationError, match="train_overrides cannot set opponent"):
        leagues.league_create(
            user=user, game="tictactoe", name="x", members=[mine.pk], train_overrides={"opponent": "random"}
        )
    league = leagues.league_create(user=user, game="tictactoe", name="ok", members=[mine.pk])
    with pytest.raises(PermissionDenied, match="only the league's owner"):
        leagues.league_update(user=other_user, league_id=league.pk, status="paused")
    assert not League.objects.exclude(pk=league.pk).exists()


@pytest.mark.django_db
def test_the_pages_show_standings_crosstable_leaderboard_and_league(user_client, user):
    from django.core.management import call_command

    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:minimax", "bot:random", *_specs(user, 1)],
        games_per_pair=2,
        batch_size=4,
        start=False,
    )
    call_command("tournament", "run", str(tournament.pk), stdout=io.StringIO())
    page = user_client.get(f"/tournaments/{tournament.pk}/").content.decode()
    assert "Standings" in page and "Head to head" in page and "hsl(" in page and "Round 3" in page
    assert user_client.get(f"/tournaments/{tournament.pk}/fragment/").status_code == 200
    board = user_client.get("/games/tictactoe/leaderboard/").content.decode()
    assert "bot:minimax" in board and "anchor" in board and 'id="series"' in board
    league = _league(user)
    page = user_client.get(f"/leagues/{league.pk}/").content.decode()
    assert "Pool" in page and "Save settings" in page and 'id="league-ratings"' in page
    response = user_client.post(
        f"/leagues/{league.pk}/settings/",
        {
            "interval_seconds": 120,
            "env_steps_per_tick": 64,
            "pool_size": 3,
            "pfsp_mode": "even",
            "pfsp_p": 2,
            "eval_games": 4,
            "status": "paused",
            "train_overrides": "{}",
        },
    )
    assert response.status_code == 302
    league.refresh_from_db()
    assert league.interval_seconds == 120 and not league.periodic_task.enabled
    assert league.periodic_task.interval.every == 120


@pytest.mark.django_db
def test_a_stranger_cannot_change_or_tick_someone_elses_league(client, user, other_user):
    league = _league(user)
    client.force_login(other_user)
    assert client.post(f"/leagues/{league.pk}/tick/").status_code == 403
    response = client.post(
        f"/leagues/{league.pk}/settings/",
        {
            "interval_seconds": 10,
            "env_steps_per_tick": 64,
            "pool_size": 3,
            "pfsp_mode": "even",
            "pfsp_p": 2,
            "eval_games": 4,
            "status": "paused",
            "train_overrides": "{}",
        },
    )
    assert response.status_code == 403
    league.refresh_from_db()
    assert league.status == League.ACTIVE
