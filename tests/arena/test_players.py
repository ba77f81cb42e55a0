"""Seat specs are checked when they are entered, so a bad one never reaches a worker."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena.models import Game, Match, Player
from arena.services.matches import match_create, match_play
from arena.services.players import (
    entrant_checkpoint,
    entrants_play,
    pair_scores,
    player_agent,
    player_agents,
    player_for_bot,
    player_for_checkpoint,
    player_from_spec,
    player_seats,
)
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "bot", ["random:5", "alphabeta:x", "minimax", "alphabeta:-1", "teleport", "x" * 5000]
)
def test_a_bad_bot_spec_is_refused_when_entered(bot):
    with pytest.raises(ValidationError, match="bot"):
        match_create(
            user=None,
            game="connect_four",
            seats={"player_0": f"bot:{bot}", "player_1": "bot:random"},
            seed=1,
            dispatch=False,
        )
    assert not Match.objects.exists()


def test_bot_specs_are_stored_in_one_spelling():
    for spec in ("bot:AlphaBeta:2", "bot: alphabeta:2 "):
        match_create(
            user=None,
            game="connect_four",
            seats={"player_0": spec, "player_1": "bot:random"},
            seed=1,
            dispatch=False,
        )
    assert list(Player.objects.filter(kind=Player.BOT).values_list("bot", flat=True).order_by("bot")) == [
        "alphabeta:2",
        "random",
    ]


# ------------------------------------------------------------------------------------------ entrants
def test_a_checkpoint_in_a_seat_it_did_not_learn_is_refused_naming_its_seat(media_root):
    checkpoint = CheckpointFactory(agent=AgentFactory(seat="player_1"), seat="player_1")
    with pytest.raises(ValidationError, match="learned player_1, not player_2"):
        match_create(
            user=None,
            game="tictactoe",
            seats={"player_1": "bot:random", "player_2": f"checkpoint:{checkpoint.pk}"},
            seed=1,
            dispatch=False,
        )


def test_an_entrant_is_refused_for_a_seat_it_has_no_policy_for(media_root):
    agent = AgentFactory(seat="player_1")
    checkpoint = CheckpointFactory(agent=agent, seat="player_1", version=3)
    with pytest.raises(ValidationError, match="no policy for player_2: it learned player_1"):
        match_create(
            user=None,
            game="tictactoe",
            seats={"player_1": "bot:random", "player_2": f"agent:{agent.pk}@3"},
            seed=1,
            dispatch=False,
        )
    with pytest.raises(ValidationError, match="no policy for player_2"):
        player_agent(player=player_for_checkpoint(checkpoint=checkpoint), seat="player_2")


def test_an_entrant_plays_each_seat_with_its_checkpoint_for_that_seat(media_root):
    agent = AgentFactory()
    first = CheckpointFactory(agent=agent, seat="player_1", version=2, seed=1)
    second = CheckpointFactory(agent=agent, seat="player_2", version=2, seed=2)
    CheckpointFactory(agent=agent, seat="player_2", version=1, seed=3)
    player = player_from_spec(game=agent.game, spec=f"agent:{agent.pk}@2", seat="player_2")
    assert player.checkpoint == first  # one player (one rating) for the version
    assert entrant_checkpoint(checkpoint=first, seat="player_2") == second
    assert player_seats(player=player) == ["player_1", "player_2"]
    match = match_create(
        user=None,
        game="tictactoe",
        seats={"player_1": "bot:random", "player_2": f"agent:{agent.pk}@2"},
        seed=1,
        dispatch=False,
    )
    match_play(match_id=match.pk)
    match.refresh_from_db()
    assert match.status == Match.FINISHED


def test_entrants_play_game_pairs_with_seats_swapped():
    game = Game.objects.get(name="tictactoe")
    minimax = player_agents(player=player_for_bot(game=game, bot="minimax"))
    random = player_agents(player=player_for_bot(game=game, bot="random"), seed=1)
    played = entrants_play("tictactoe", minimax, random, seeds=[1, 2, 3])
    assert sorted(g.a_seat for g in played) == ["player_1"] * 3 + ["player_2"] * 3
    scores = pair_scores(played)
    assert len(scores) == 3 and all(1.0 <= s <= 2.0 for s in scores)


def test_a_person_cannot_face_a_checkpoint_in_a_seat_it_did_not_learn(media_root, user):
    from arena.services.play import human_game_create

    checkpoint = CheckpointFactory(agent=AgentFactory(seat="player_1"), seat="player_1")
    with pytest.raises(ValidationError, match="learned player_1, not player_2"):
        human_game_create(
            user=user, game="tictactoe", opponent=f"checkpoint:{checkpoint.pk}", seat="player_1"
        )
    match = human_game_create(
        user=user, game="tictactoe", opponent=f"checkpoint:{checkpoint.pk}", seat="player_2"
    )
    assert len(match.moves) == 1  # the checkpoint moved first, in the seat it learned


def test_a_rematch_with_seats_swapped_plays_the_entrants_other_seat(media_root, user):
    from arena.services.play import human_game_create, human_game_rematch

    agent = AgentFactory()
    first = CheckpointFactory(agent=agent, seat="player_1", version=1, seed=1)
    CheckpointFactory(agent=agent, seat="player_2", version=1, seed=2)
    match = human_game_create(user=user, game="tictactoe", opponent=f"checkpoint:{first.pk}", seat="player_2")
    rematch = human_game_rematch(match_id=match.pk, user=user)
    seats = rematch.seats_by_name()
    assert seats["player_1"].player.kind == Player.HUMAN and seats["player_2"].player.checkpoint == first


def test_a_tournament_refuses_an_entrant_that_learned_one_seat(media_root, user):
    from arena.services.tournaments import tournament_create

    checkpoint = CheckpointFactory(agent=AgentFactory(owner=user, seat="player_2"), seat="player_2")
    with pytest.raises(ValidationError, match="no policy for player_1: it learned player_2"):
        tournament_create(
            user=user,
            game="tictactoe",
            format="round_robin",
            participants=["bot:random", f"checkpoint:{checkpoint.pk}"],
        )


def test_entrants_play_poker_in_whole_matches_one_game_per_seed():
    game = Game.objects.get(name="leduc_holdem")
    cfr = player_agents(player=player_for_bot(game=game, bot="cfr"))
    random = player_agents(player=player_for_bot(game=game, bot="random"), seed=1)
    both = entrants_play("leduc_holdem", cfr, random, seeds=[1, 2])
    # Duplicate swaps the seats inside the match: one match per seed, the CFR+ bot in the first seat.
    assert [g.a_seat for g in both] == ["player_0", "player_0"]
    assert all(
        g.result.details["poker"]["hands"] == 200 and g.result.details["poker"]["duplicate"] for g in both
    )
    # An entrant with one seat plays one match per seed in it, each deal once.
    one = entrants_play("leduc_holdem", {"player_1": cfr["player_1"]}, random, seeds=[1, 2])
    assert [g.a_seat for g in one] == ["player_1", "player_1"]
    assert all(g.result.details["poker"]["hands"] == 200 for g in one)
    assert not any(g.result.details["poker"]["duplicate"] for g in one)
    for g in both + one:  # a win only where the first seat's mbb/hand interval excludes 0
        low, high = g.result.details["poker"]["low"], g.result.details["poker"]["high"]
        first_scores = 1.0 if low > 0 else 0.0 if high < 0 else 0.5
        assert g.score == (first_scores if g.a_seat == "player_0" else 1.0 - first_scores)
    # The gates count duplicate hand pairs, as board games count game pairs.
    assert len(pair_scores(entrants_play("leduc_holdem", cfr, random, seeds=[1, 2, 3], hands=True))) == 3
