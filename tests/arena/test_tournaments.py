"""Tournaments: rounds played by a real worker, exactly-once advancing, Swiss pairing, refusals of bad
input, and the pages (standings, cross-table, the game's leaderboard)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from arena.management.commands.tournament import tournament_run
from arena.models import Checkpoint, Match, Rating, Tournament, TournamentRound
from arena.services import tournament_rounds, tournaments
from tests.arena.conftest import concurrently, seat_points, wait_until
from tests.factories import checkpoint_specs


def test_a_four_player_round_robin_finishes_with_the_standings_its_results_imply(celery_worker, user):
    participants = ["bot:minimax", "bot:random", *checkpoint_specs(user, 2)]
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

    points = seat_points(matches)
    table = tournament.table["standings"]
    assert {row["player"]: row["points"] for row in table} == dict(points)
    assert [row["points"] for row in table] == sorted(points.values(), reverse=True)
    assert all(row["games"] == 6 for row in table)
    minimax = next(row for row in table if row["label"] == "bot:minimax")
    assert minimax["losses"] == 0 and minimax["rank"] == 1
    # Elo on the pool's one scale: random pinned at 0, the others with their 95% intervals.
    assert all(row["elo_lo"] <= row["elo"] <= row["elo_hi"] for row in table)
    assert next(row for row in table if row["label"] == "bot:random")["elo"] == 0.0
    adv, low, high = tournament.table["seat_advantage"]
    assert low <= adv <= high
    # The anchors kept their pinned ratings; the checkpoints were rated.
    assert Rating.objects.get(player__bot="minimax", pool="tictactoe").sigma == 1.0
    assert Rating.objects.filter(player__kind="checkpoint", games=6).count() == 2


def test_a_failing_match_is_retried_then_recorded_as_failed_without_blocking_the_round(celery_worker, user):
    broken, fine = checkpoint_specs(user, 2)
    entrant = Checkpoint.objects.get(pk=int(broken.split(":")[1]))
    for row in Checkpoint.objects.filter(agent=entrant.agent, version=entrant.version):  # every seat's file
        Path(row.absolute_path()).unlink()
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
    participants = ["bot:minimax", "bot:random", *checkpoint_specs(user, 4)]
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
def test_two_concurrent_advances_of_a_swiss_round_create_one_next_round(user, monkeypatch):
    monkeypatch.setattr(tournament_rounds, "tournament_matches_dispatch", lambda **kwargs: None)
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="swiss",
        participants=["bot:minimax", "bot:random", *checkpoint_specs(user, 2)],
        games_per_pair=1,
        rounds=2,
    )
    first = tournament.round_set.get()
    for match in Match.objects.filter(tournament_match__round=first):
        match.status = Match.FINISHED
        match.save()
        match.seats.update(score=0.0)
    outcomes = concurrently(lambda: tournaments.tournament_advance(tournament_id=tournament.pk))
    assert sorted(o is None for o in outcomes) == [False, True]
    assert list(tournament.round_set.values_list("number", flat=True)) == [1, 2]
    assert Match.objects.filter(tournament_match__round__number=2).count() == 2


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
        change = {"participants": ["bot:random", checkpoint_specs(user, 1, game="connect_four")[0]]}
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
def test_only_the_creator_starts_a_tournament(user, other_user):
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="gauntlet",
        participants=["bot:minimax", "bot:random"],
        start=False,
    )
    with pytest.raises(PermissionDenied, match="only the tournament's creator"):
        tournaments.tournament_start(user=other_user, tournament_id=tournament.pk)


@pytest.mark.django_db
def test_the_pages_show_standings_crosstable_and_leaderboard(user_client, user):
    from django.core.management import call_command

    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:minimax", "bot:random", *checkpoint_specs(user, 1)],
        # Four games a pair and a fixed seed: six games of a random seed can all be drawn between the
        # perfect players, a pool the Elo fit cannot place, and the leaderboard then has no rows.
        games_per_pair=4,
        batch_size=4,
        seed=3,
        start=False,
    )
    call_command("tournament", "run", str(tournament.pk), stdout=io.StringIO())
    page = user_client.get(f"/tournaments/{tournament.pk}/").content.decode()
    assert "Standings" in page and "Head to head" in page and "hsl(" in page and "Round 3" in page
    assert user_client.get(f"/tournaments/{tournament.pk}/fragment/").status_code == 200
    board = user_client.get("/games/tictactoe/leaderboard/").content.decode()
    assert "bot:minimax" in board and "anchor" in board and 'id="series"' in board


@pytest.mark.django_db
def test_games_between_two_greedy_checkpoints_vary_and_each_opening_is_played_twice_with_seats_swapped(user):
    participants = checkpoint_specs(user, 2)
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=participants,
        games_per_pair=40,
        batch_size=40,
        seed=5,
        start=False,
    )
    tournament_run(tournament_id=tournament.pk)
    matches = list(
        Match.objects.filter(tournament_match__round__tournament=tournament).prefetch_related("seats")
    )
    assert len(matches) == 40 and {m.status for m in matches} == {Match.FINISHED}
    assert len({tuple(m.moves) for m in matches}) > 10  # greedy players, yet the games differ
    pairs: dict[int, list[Match]] = {}
    for match in matches:
        assert match.opening_plies == 2 and match.moves[:2] == match.opening
        pairs.setdefault(match.seed, []).append(match)
    assert len(pairs) == 20 and all(len(pair) == 2 for pair in pairs.values())
    for first, second in pairs.values():
        assert first.opening == second.opening
        seated = [{s.seat: s.player_id for s in m.seats.all()} for m in (first, second)]
        assert (
            seated[0]["player_1"] == seated[1]["player_2"] and seated[0]["player_2"] == seated[1]["player_1"]
        )


@pytest.mark.django_db
def test_a_tournament_replays_a_given_book_of_openings_in_pairs(user):
    tournament = tournaments.tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:random", "bot:minimax"],
        games_per_pair=4,
        batch_size=4,
        openings=[[4], [0, 8]],
        seed=2,
        start=False,
    )
    tournament_run(tournament_id=tournament.pk)
    openings = sorted(
        tuple(m.opening) for m in Match.objects.filter(tournament_match__round__tournament=tournament)
    )
    assert openings == [(0, 8), (0, 8), (4,), (4,)]
    with pytest.raises(ValidationError):
        tournaments.tournament_create(
            user=user,
            game="tictactoe",
            format="round_robin",
            participants=["bot:random", "bot:minimax"],
            openings=[[9]],
        )


@pytest.mark.django_db
def test_the_form_takes_a_book_of_openings_one_a_line(user_client):
    response = user_client.post(
        "/tournaments/new/",
        {
            "game": "tictactoe",
            "format": "round_robin",
            "participants": "bot:random\nbot:minimax",
            "games_per_pair": 4,
            "batch_size": 4,
            "openings": "4\n0, 8\n",
            "temperature": 0,
        },
    )
    tournament = Tournament.objects.get()
    assert response.status_code == 302 and tournament.openings == [[4], [0, 8]]
    refused = user_client.post(
        "/tournaments/new/",
        {
            "game": "tictactoe",
            "format": "round_robin",
            "participants": "bot:random\nbot:minimax",
            "games_per_pair": 2,
            "batch_size": 1,
            "openings": "4, 4",
        },
    )
    assert refused.status_code == 200 and Tournament.objects.count() == 1
