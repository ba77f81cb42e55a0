"""Hidden cards stay hidden: every socket frame (the player's and a spectator's) and every API and
page response of a whole Leduc hand, checked for the cards its receiver may not see."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from arena.models import Match
from arena.services.play import human_game_create, human_move
from arena.services.play_events import PlayError
from arena.services.take_overs import match_take_over
from marl.poker_match import hand_cards
from tests.arena.conftest import socket_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_play_limits(settings, private_channel_layer) -> None:
    settings.ARENA_MOVES_PER_SECOND = 10_000
    settings.ARENA_MAX_OPEN_GAMES = 1_000


def _cards_in(text: str) -> set[str]:
    """Every card string that appears as a JSON string anywhere in ``text``."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif (
            isinstance(value, str) and len(value) == 2 and value[0] in "SHDC" and value[1] in "23456789TJQKA"
        ):
            found.add(value)

    walk(json.loads(text))
    return found


def _pages(user_client: Client, stranger: Client, match_id: int) -> list[tuple[str, str]]:
    """(who, body) for every HTTP view of the match: the player's and a stranger's."""
    urls = [
        reverse("match_detail", args=[match_id]),
        reverse("match_replay", args=[match_id]),
        f"/api/matches/{match_id}",
        "/api/matches",
    ]
    out = [("player", user_client.get(reverse("play_detail", args=[match_id])).content.decode())]
    for url in urls:
        out.append(("player", user_client.get(url).content.decode()))
        out.append(("stranger", stranger.get(url).content.decode()))
    return out


def _page_cards(body: str) -> set[str]:
    """Card strings in a page or JSON body: JSON bodies parsed; HTML pages searched as quoted tokens."""
    try:
        return _cards_in(body)
    except json.JSONDecodeError:
        return {c for s in "SHDC" for r in "23456789TJQKA" if f'"{(c := s + r)}"' in body}


def _state(frame: str) -> dict | None:
    """The state a frame carries (a snapshot's or an event's); None for one that carries none."""
    message = json.loads(frame)
    return message.get("match", {}).get("state") or message.get("state")


def _over(frame: str) -> bool:
    """Whether the state a frame carries is the end of the hand (from then on the rules show cards)."""
    state = _state(frame)
    return state is not None and state["result"] is not None


def _last_state(frames: list[str]) -> dict:
    """The state of the latest frame that carries one (a frame such as a viewer count carries none)."""
    for frame in reversed(frames):
        if (state := _state(frame)) is not None:
            return state
    raise AssertionError("no frame carries a state")


async def _drain(communicator, frames: list[str]) -> None:
    while not await communicator.receive_nothing(timeout=0.3):
        frames.append(json.dumps(await communicator.receive_json_from(timeout=5)))


async def test_no_frame_or_response_of_a_hand_carries_a_card_its_receiver_may_not_see(user):
    match = await database_sync_to_async(human_game_create)(
        user=user, game="leduc_holdem", opponent="bot:call", seat="player_0"
    )
    await _check_hand_stays_hidden(user, match.pk, seed_secret=True)


async def test_a_hand_taken_over_from_a_finished_one_hides_the_opponents_card_the_same_way(user):
    source = await database_sync_to_async(_finished_hand)(user)
    match = await database_sync_to_async(match_take_over)(
        user=user, match_id=source.pk, ply=1, seat="player_0"
    )
    assert match.seed == source.seed and not match.rated
    # The deal is the finished source's, public on its replay: only the cards are checked here.
    await _check_hand_stays_hidden(user, match.pk, seed_secret=False)


def _finished_hand(user) -> Match:
    """A Leduc hand of the user's (player_0) against the calling bot: a check (or a call of the blind),
    then a fold. No showdown, so the opponent's card was never shown in it."""
    match = human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seat="player_0")
    try:
        human_move(match_id=match.pk, user=user, ply=len(match.moves), move={"move": "check"})
    except PlayError:
        human_move(match_id=match.pk, user=user, ply=len(match.moves), move={"move": "call"})
    match.refresh_from_db()
    human_move(match_id=match.pk, user=user, ply=len(match.moves), move={"move": "fold"})
    match.refresh_from_db()
    assert match.status == Match.FINISHED
    return match


async def _check_hand_stays_hidden(user, match_id: int, *, seed_secret: bool) -> None:
    """Play the hand out over the socket by checking and calling, and check every frame and response."""
    row = await database_sync_to_async(Match.objects.select_related("game").get)(pk=match_id)
    cards = hand_cards("leduc_holdem", row.seed)
    mine, theirs = set(cards["player_0"]), set(cards["player_1"])
    player, first = await socket_open(f"/ws/play/{match_id}/", user)
    spectator, seen_first = await socket_open(f"/ws/matches/{match_id}/")
    player_frames, spectator_frames = [json.dumps(first)], [json.dumps(seen_first)]
    user_client, stranger = Client(), Client()
    await database_sync_to_async(user_client.force_login)(user)
    responses = await database_sync_to_async(_pages)(user_client, stranger, match_id)
    while True:  # check or call until the hand ends (the bot only checks and calls: a showdown)
        state = _last_state(player_frames)
        if state["result"] is not None:
            break
        assert state["to_move"] == "player_0"
        move = {"move": "check" if any(a["name"] == "check" for a in state["poker"]["actions"]) else "call"}
        await player.send_json_to({"type": "move", "ply": len(state["moves"]), "move": move})
        await _drain(player, player_frames)
        await _drain(spectator, spectator_frames)
        if json.loads(player_frames[-1]).get("event") != "finished":
            responses += await database_sync_to_async(_pages)(user_client, stranger, match_id)
    # Before the showdown: the player sees only its own card, the spectator and strangers none.
    before = [f for f in player_frames if _state(f) is not None and not _over(f)]
    assert len(before) >= 2 and len(before) < len(player_frames)
    assert all(not (_cards_in(f) & theirs) for f in before)
    assert all(_cards_in(f) & mine for f in before)  # the check can fail: the player's card is there
    assert all(not (_cards_in(f) & (mine | theirs)) for f in spectator_frames if not _over(f))
    for who, body in responses:
        assert not (_page_cards(body) & theirs), who
        if who == "stranger":
            assert not (_page_cards(body) & mine)
        if seed_secret:
            assert str(row.seed) not in body  # the seed is the deal: hidden while the hand is played
    # The showdown shows both hands to everyone.
    last = json.loads(spectator_frames[-1])
    assert last["event"] == "finished" and last["state"]["poker"]["showdown"]
    assert _cards_in(spectator_frames[-1]) >= mine | theirs
    for communicator in (player, spectator):
        await communicator.disconnect()


def test_a_player_cannot_choose_the_deal(user):
    with pytest.raises(PlayError, match="seed of a game with hidden cards is the deal"):
        human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seed=3)


def test_a_folded_hand_stays_hidden_in_the_replay_unless_the_setting_allows_it(user, user_client, settings):
    match = human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seat="player_0")
    state = json.loads(user_client.get(reverse("match_replay", args=[match.pk])).content)["states"][-1]
    human_move(match_id=match.pk, user=user, ply=len(state["moves"]), move={"move": "fold"})
    cards = hand_cards("leduc_holdem", Match.objects.get(pk=match.pk).seed)
    everyone = set(cards["player_0"]) | set(cards["player_1"])
    body = user_client.get(reverse("match_replay", args=[match.pk])).content.decode()
    assert not (_cards_in(body) & everyone)
    settings.ARENA_POKER_REPLAY_SHOWS_FOLDED = True
    body = user_client.get(reverse("match_replay", args=[match.pk])).content.decode()
    assert _cards_in(body) >= everyone
