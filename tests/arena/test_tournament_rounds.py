"""Tournaments at worker speed: rounds whose pairings ignore results open at once and are played without
waiting round by round, every match exactly once; a batch costs the same queries whatever its size."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.models import Match, RatingEvent, Tournament, TournamentRound
from arena.services import tournament_rounds, tournaments
from arena.services.match_batches import matches_play_batch
from tests.arena.conftest import concurrently, seat_points, wait_until
from tests.factories import checkpoint_specs

# One batch of any size: claim (3), seats (1), the players' checkpoints (a few per player), scores
# (one per distinct score), ratings (a few per player plus two bulk writes), and the tournament's
# cheap "anything to close?" read. None of it grows with the number of matches.
BATCH_QUERY_BOUND = 30


@pytest.mark.django_db
def test_a_round_robin_opens_every_round_at_start_and_a_swiss_only_its_first(user):
    players = ["bot:minimax", "bot:random", *checkpoint_specs(user, 2)]
    robin = tournaments.tournament_create(
        user=user, game="tictactoe", format="round_robin", participants=players, games_per_pair=2
    )
    rounds = list(robin.round_set.order_by("number"))
    assert [(r.number, r.status) for r in rounds] == [(n, TournamentRound.RUNNING) for n in (1, 2, 3)]
    pairs = [frozenset(p) for r in rounds for p in r.data["pairs"]]
    assert len(pairs) == 6 and len(set(pairs)) == 6
    assert Match.objects.filter(tournament_match__round__tournament=robin).count() == 12
    swiss = tournaments.tournament_create(
        user=user, game="tictactoe", format="swiss", participants=players, games_per_pair=2, rounds=3
    )
    assert list(swiss.round_set.values_list("number", flat=True)) == [1]


def test_a_batched_round_robin_through_a_real_worker_plays_every_match_once_with_the_right_standings(
    celery_worker, user
):
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:minimax", "bot:random", *checkpoint_specs(user, 3)],
        games_per_pair=4,
        batch_size=2,
        seed=3,
    )
    wait_until(
        lambda: Tournament.objects.get(pk=tournament.pk).status == Tournament.FINISHED,
        timeout=120,
        message="the round robin to finish",
    )
    tournament.refresh_from_db()
    assert list(tournament.round_set.values_list("number", "status")) == [
        (n, TournamentRound.COMPLETE) for n in range(1, 6)
    ]
    matches = Match.objects.filter(tournament_match__round__tournament=tournament)
    assert matches.count() == 40
    assert set(matches.values_list("status", "attempts")) == {(Match.FINISHED, 1)}  # each played once
    rated = Counter(RatingEvent.objects.filter(match__in=matches).values_list("match_id", flat=True))
    assert len(rated) == 40 and set(rated.values()) == {2}  # each rated once, both players
    table = tournament.table["standings"]
    points = seat_points(matches)
    assert {row["player"]: row["points"] for row in table} == dict(points)
    assert [row["points"] for row in table] == sorted(points.values(), reverse=True)
    assert all(row["games"] == 16 for row in table)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_advances_of_a_played_round_robin_close_each_round_and_finish_it_once(
    user, monkeypatch
):
    monkeypatch.setattr(tournament_rounds, "tournament_matches_dispatch", lambda **kwargs: None)
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:minimax", "bot:random", *checkpoint_specs(user, 2)],
        games_per_pair=1,
    )
    for match in Match.objects.filter(tournament_match__round__tournament=tournament):
        match.status = Match.FINISHED
        match.save()
        match.seats.update(score=0.0)
    outcomes = concurrently(lambda: tournaments.tournament_advance(tournament_id=tournament.pk))
    assert sorted(o is None for o in outcomes) == [False, True]
    tournament.refresh_from_db()
    assert tournament.status == Tournament.FINISHED and tournament.table["standings"]
    assert list(tournament.round_set.values_list("number", "status")) == [
        (n, TournamentRound.COMPLETE) for n in (1, 2, 3)
    ]


@pytest.mark.django_db
def test_a_batch_of_sixteen_matches_costs_the_same_queries_as_a_batch_of_four(user):
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="gauntlet",
        participants=[*checkpoint_specs(user, 1), "bot:random"],
        games_per_pair=60,
        batch_size=60,
        start=False,
    )
    tournaments.tournament_start(user=user, tournament_id=tournament.pk, dispatch=False)
    first_seat = tournament.game.seats[0]
    one_seating = list(  # the checkpoint in the first seat: 30 games, one batched loop
        Match.objects.filter(
            tournament_match__round__tournament=tournament,
            seats__seat=first_seat,
            seats__player__kind="checkpoint",
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    matches_play_batch(match_ids=one_seating[:2], dispatch=False)  # ratings rows exist from here on
    counts = []
    for ids in (one_seating[2:6], one_seating[6:22]):
        with CaptureQueriesContext(connection) as queries:
            assert matches_play_batch(match_ids=ids, dispatch=False) == {"finished": len(ids), "failed": 0}
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1] <= BATCH_QUERY_BOUND, counts
