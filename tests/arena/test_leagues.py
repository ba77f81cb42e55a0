"""Leagues: ticks that train, snapshot, evaluate and rate; one tick at a time; owners alone enter their
agents and change settings; a tick on demand is queued after commit and survives a broker outage."""

from __future__ import annotations

import json
import threading

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from arena.models import League, LeagueResult, LeagueSnapshot, LeagueTick, Rating, TrainingRun
from arena.services import leagues
from tests.arena._faults import app_on
from tests.arena.conftest import wait_until
from tests.factories import AgentFactory, LeagueFactory

SETTINGS_FORM = {
    "interval_seconds": 120,
    "env_steps_per_tick": 64,
    "pool_size": 3,
    "pfsp_mode": "even",
    "pfsp_p": 2,
    "eval_games": 4,
    "status": "paused",
    "train_overrides": "{}",
}


def test_a_league_tick_trains_snapshots_evaluates_and_rates(celery_worker, user):
    from arena.tasks import league_tick

    league = LeagueFactory(user=user)
    league_tick.delay(league.pk)
    tick = wait_until(
        lambda: LeagueTick.objects.filter(league=league, status__in=("done", "failed")).first(),
        timeout=240,
        message="the tick to end",
    )
    assert tick.status == LeagueTick.DONE, tick.error
    run = TrainingRun.objects.get(agent__leagues=league)
    assert run.status == TrainingRun.COMPLETED and run.config["opponent"] == "pool"
    assert run.config["pool"] == [
        "bot:random",
        "bot:minimax",
    ]  # the first tick: no snapshots yet, so the bots
    assert str(settings.MEDIA_ROOT) not in json.dumps(run.config)  # pools name ids, never server files
    snapshot = LeagueSnapshot.objects.get(league=league)
    assert snapshot.checkpoint.training_run == run and snapshot.tick == 1
    evaluations = LeagueResult.objects.filter(tick=tick)
    assert {e.opponent.label for e in evaluations} == {"bot:random", "bot:minimax"}
    assert all(e.games == 4 for e in evaluations)
    rating = Rating.objects.get(player__checkpoint=snapshot.checkpoint)
    assert rating.games == 8
    row = tick.results[f"{snapshot.member_id}:player_1"]
    # Each game starts from a random opening, which can leave even minimax lost: count, don't presume.
    assert row["rating"] is not None and sum(row["vs"]["bot:minimax"]) == 4
    league.refresh_from_db()
    assert league.periodic_task.enabled and league.lease_owner == "" and league.tick_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_tick_started_while_one_runs_does_nothing(user, monkeypatch):
    league = LeagueFactory(user=user)
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
def test_only_owners_enter_agents_and_change_a_league(user, other_user):
    mine = AgentFactory(owner=user, name="mine")
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
def test_the_page_shows_the_pool_and_saves_settings(user_client, user):
    league = LeagueFactory(user=user)
    page = user_client.get(f"/leagues/{league.pk}/").content.decode()
    assert "Pool" in page and "Save settings" in page and 'id="league-ratings"' in page
    response = user_client.post(f"/leagues/{league.pk}/settings/", SETTINGS_FORM)
    assert response.status_code == 302
    league.refresh_from_db()
    assert league.interval_seconds == 120 and not league.periodic_task.enabled
    assert league.periodic_task.interval.every == 120


@pytest.mark.django_db(transaction=True)
def test_a_tick_on_demand_is_queued_for_a_worker(user_client, user, private_redis, settings):
    league = LeagueFactory(user=user)
    with app_on(private_redis.url, settings):
        response = user_client.post(f"/leagues/{league.pk}/tick/")
    assert response.status_code == 302 and response.url == league.get_absolute_url()
    queued = [json.loads(raw)["headers"] for raw in private_redis.client().lrange("training", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("arena.tasks.league_tick", f"({league.pk}, True)")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_tick_on_demand_while_the_broker_is_down_is_not_an_error(
    user_client, user, private_redis, settings
):
    league = LeagueFactory(user=user)
    with app_on(private_redis.url, settings):
        private_redis.stop()
        response = user_client.post(f"/leagues/{league.pk}/tick/", follow=True)
    assert response.status_code == 200
    assert "a tick is queued" in response.content.decode()  # the scheduled ticks come anyway


@pytest.mark.django_db
def test_a_stranger_cannot_change_or_tick_someone_elses_league(client, user, other_user):
    league = LeagueFactory(user=user)
    client.force_login(other_user)
    assert client.post(f"/leagues/{league.pk}/tick/").status_code == 403
    response = client.post(f"/leagues/{league.pk}/settings/", {**SETTINGS_FORM, "interval_seconds": 10})
    assert response.status_code == 403
    league.refresh_from_db()
    assert league.status == League.ACTIVE


@pytest.mark.django_db
def test_a_member_learning_every_seat_is_evaluated_in_game_pairs_with_seats_swapped(user):
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk], eval_games=4)
    for number in (1, 2):
        assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == number
    tick = LeagueTick.objects.get(league=league, number=2)
    assert tick.status == LeagueTick.DONE, tick.error
    rows = LeagueResult.objects.filter(tick=tick).select_related("opponent")
    # Against each bot, both seats: every opening once as player_1 and once as player_2.
    for bot in ("bot:random", "bot:minimax"):
        by_seat = {r.seat: r.games for r in rows if r.opponent.label == bot}
        assert by_seat == {"player_1": 2, "player_2": 2}, (bot, by_seat)
    # Tick 1's agent version is in the pool: a pair of seats against it too, never against itself.
    versions = {r.opponent.label for r in rows if not r.opponent.label.startswith("bot:")}
    assert len(versions) == 1 and all(r.player_id != r.opponent_id for r in rows)
    member = league.memberships.get()
    assert {f"{member.pk}:player_1", f"{member.pk}:player_2"} <= set(tick.results)


@pytest.fixture
def no_training_bots(monkeypatch):
    """Training asking `marl` for any bot (random included) fails the test; evaluation builds its
    anchors through the players service, which is not patched."""
    import marl.bots
    import marl.train_eval

    def refuse(game: str, name: str, seed: int | None = None) -> None:
        raise AssertionError(f"training asked for the bot {name!r}")

    monkeypatch.setattr(marl.bots, "make_bot", refuse)
    monkeypatch.setattr(marl.train_eval, "make_bot", refuse)


@pytest.mark.django_db
def test_a_league_tick_with_defaults_trains_by_self_play_and_builds_no_bot(user, no_training_bots):
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk])
    assert not league.pool_bots and league.self_play and league.eval_search == 0
    for number in (1, 2):
        assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == number
        tick = LeagueTick.objects.get(league=league, number=number)
        assert tick.status == LeagueTick.DONE, tick.error
    runs = TrainingRun.objects.filter(agent__leagues=league)
    assert runs.count() == 2  # one run a tick for both seats
    assert all(r.config["opponent"] == "self" and r.config["pool"] == [] for r in runs)
    assert all(r.config["learn_seats"] == ["player_1", "player_2"] for r in runs)
    # The bots are still the evaluation's anchors.
    assert {"bot:random", "bot:minimax"} <= {r.opponent.label for r in LeagueResult.objects.filter(tick=tick)}


@pytest.mark.django_db
def test_an_az_member_shares_one_network_that_plays_both_seats_in_evaluation(user, no_training_bots):
    agent = AgentFactory(owner=user, algorithm="az")
    overrides = {"simulations": 4, "batch_size": 16, "buffer_size": 500}
    league = LeagueFactory(
        user=user, members=[agent.pk], train_overrides=overrides, eval_games=4, self_play=False
    )
    assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == 1
    tick = LeagueTick.objects.get(league=league, number=1)
    assert tick.status == LeagueTick.DONE, tick.error
    run = TrainingRun.objects.get(agent=agent)
    assert run.config["algorithm"] == "az" and run.config["opponent"] == "self"  # az always self-plays
    checkpoints = {c.seat: c for c in agent.checkpoints.all()}
    assert set(checkpoints) == {"player_1", "player_2"}
    assert checkpoints["player_1"].path == checkpoints["player_2"].path  # one network, a row per seat
    rows = LeagueResult.objects.filter(tick=tick).select_related("opponent")
    for bot in ("bot:random", "bot:minimax"):
        assert {r.seat: r.games for r in rows if r.opponent.label == bot} == {"player_1": 2, "player_2": 2}


@pytest.mark.django_db
def test_a_league_evaluates_with_search_on_top_when_asked(user):
    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk], eval_search=6)
    assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == 1
    tick = LeagueTick.objects.get(league=league, number=1)
    assert tick.status == LeagueTick.DONE, tick.error
    member = league.memberships.get()
    row = tick.results[f"{member.pk}:player_1:mcts"]
    assert row["search"] == 6 and row["label"].endswith(" + mcts:6")
    assert set(row["vs"]) == {"bot:random", "bot:minimax"} and sum(row["vs"]["bot:random"]) == 4
    searched = LeagueResult.objects.filter(tick=tick, player__search=6)
    assert {r.seat for r in searched} == {"player_1", "player_2"}


@pytest.mark.django_db
def test_league_settings_refuse_a_search_budget_over_the_limit(user):
    agent = AgentFactory(owner=user)
    with pytest.raises(ValidationError, match="eval_search must be an integer from 0 to 800"):
        leagues.league_create(user=user, game="tictactoe", name="x", members=[agent.pk], eval_search=801)
    with pytest.raises(ValidationError, match="self_play must be true or false"):
        leagues.league_create(user=user, game="tictactoe", name="y", members=[agent.pk], self_play="yes")
    assert not League.objects.exists()


@pytest.mark.django_db
def test_the_champions_strength_by_tick_is_on_the_page_and_in_the_api(user_client, user):
    from arena.services.strength import checkpoint_strength

    league = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk, AgentFactory(owner=user).pk])
    for number in (1, 2):
        assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == number
    for snapshot in LeagueSnapshot.objects.filter(league=league):  # what the evaluation workers do
        checkpoint_strength(checkpoint_id=snapshot.checkpoint_id)
    strength = user_client.get(f"/api/leagues/{league.pk}/strength").json()
    assert [c["tick"] for c in strength["champions"]] == [1, 2]
    for tick in (1, 2):  # the champion is the member that rated highest in that tick
        rows = LeagueTick.objects.get(league=league, number=tick).results.values()
        # Ranked by mean rating; a member the tick's fit could not rate (every game drawn) ranks last.
        members = list(dict.fromkeys(r["member"] for r in rows))
        rated = {
            m: [r["rating"] for r in rows if r["member"] == m and r["rating"] is not None] for m in members
        }
        best = max(members, key=lambda m: sum(rated[m]) / len(rated[m]) if rated[m] else float("-inf"))
        champion = strength["champions"][tick - 1]
        assert {r["checkpoint"] for r in rows if r["member"] == best} == set(champion["checkpoints"])
    assert set(strength["vs_anchors"]) == {"vs random", "vs minimax"}
    assert all(len(points) == 2 and 0 <= points[0][1] <= 1 for points in strength["vs_anchors"].values())
    assert {"loss player_1", "loss player_2", "mistakes player_1", "mistakes player_2"} == set(
        strength["strength"]
    )
    page = user_client.get(f"/leagues/{league.pk}/").content.decode()
    assert 'id="league-champion-anchors"' in page and 'id="league-champion-strength"' in page
    assert "Champion at tick 2" in page
    settings_read = user_client.get(f"/api/leagues/{league.pk}").json()
    assert settings_read["pool_bots"] is False and settings_read["self_play"] is True
    assert settings_read["eval_search"] == 0 and settings_read["tick_count"] == 2


def test_a_poker_league_evaluates_in_whole_matches_and_its_pool_holds_only_those(user):
    from arena.models import Match
    from arena.services.play import human_game_create
    from arena.services.play_forfeits import human_game_resign
    from arena.services.ratings import pool_games, pool_games_count

    league = LeagueFactory(
        user=user,
        game="leduc_holdem",
        members=[AgentFactory(owner=user, game="leduc_holdem").pk],
        eval_games=4,
    )
    assert leagues.league_tick(league_id=league.pk, worker="test", force=True) == 1
    tick = LeagueTick.objects.get(league=league, number=1)
    assert tick.status == LeagueTick.DONE, tick.error
    rows = LeagueResult.objects.filter(tick=tick).select_related("opponent", "player__checkpoint")
    # eval_games // 2 duplicate matches of 200 hands per anchor, each one game, credited to the
    # version's first-seat checkpoint (one match plays both seats).
    assert {(r.opponent.label, r.seat, r.games) for r in rows} == {
        ("bot:random", "player_0", 2),
        ("bot:cfr", "player_0", 2),
    }
    # A person's one hand at the table is rated provisionally but is not a game of the per-match fit.
    hand = human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seat="player_0")
    human_game_resign(match_id=hand.pk, user=user)
    hand.refresh_from_db()
    assert hand.status == Match.FINISHED and hand.rated and hand.hands == 1
    assert pool_games_count("leduc_holdem") == 4  # matches, not the 800 hands inside them
    assert len(pool_games("leduc_holdem")) == 4
    first = rows[0].player
    assert Rating.objects.get(player=first, pool="leduc_holdem").games == 4
    member = league.memberships.get()
    seats = {seat: tick.results[f"{member.pk}:{seat}"] for seat in ("player_0", "player_1")}
    assert seats["player_0"]["vs"] == seats["player_1"]["vs"] and sum(seats["player_1"]["vs"]["bot:cfr"]) == 2


def test_a_one_seat_poker_learner_is_evaluated_in_matches_from_its_seat_at_most_the_poker_cap(user):
    from arena.services.league_members import POKER_EVAL_MATCHES, _play_pairing
    from marl.bots import make_bot

    league = LeagueFactory(user=user, game="leduc_holdem", eval_games=40)
    me, opponent = make_bot("leduc_holdem", "cfr", seed=0), make_bot("leduc_holdem", "random", seed=1)
    played = _play_pairing(league, "player_1", me, opponent, 5)
    assert len(played) == POKER_EVAL_MATCHES < 40
    # Each deal once (a one-seat checkpoint cannot swap seats), 200 hands, scored as one game.
    assert all(r.details["poker"]["hands"] == 200 and not r.details["poker"]["duplicate"] for r in played)
    assert {r.reason for r in played} <= {"win", "draw"} and any(r.winner == "player_1" for r in played)
