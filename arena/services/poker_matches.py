"""Poker matches between agents: many hands, duplicate by default, scored in milli-big-blinds per hand.

One hand of poker is mostly the luck of the cards, so a match of a poker game between agents is
`match.hands` hands (the game's `hands_per_match` unless the match says otherwise): `marl.poker_match`
draws the deals from the match's seed with the small blind alternating, and plays every deal twice with
the seats swapped (duplicate poker), through the one match loop. The result keeps every hand (seed,
moves, who sat where, chips) with the first seat's mbb/hand and its 95% interval.

For the ratings the match is one game of the pool: a win for the player whose mbb/hand interval lies
above 0, else a draw (`PokerMatch.match_result` says why). One game per match rather than one per
duplicate pair: a pair's sign is as much the cards' luck as a single hand's, and the Elo fit would
count a hundred near-coin tosses per match as a hundred pieces of evidence, with intervals to match;
the match's own interval already weighs the chips. Calibration, league evaluations and the anchors'
measurement play poker in such matches too (`players.entrants_play`), so a poker pool holds one kind
of game. People still play one hand per match (`play.py`): rated provisionally, outside the Elo fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Game, Match, Player
from arena.services.openings import agent_at_temperature
from arena.services.players import player_agents
from marl.agents import Agent
from marl.games import GAMES, get_game
from marl.match import MatchResult
from marl.poker_match import play_poker_match


def poker_game_is(game: str) -> bool:
    """Whether a match of this game between agents is many hands (the game entry declares it)."""
    spec = GAMES.get(game)
    return bool(spec and spec.hands_per_match > 1)


def hands_check(*, game: Game, hands: Any, duplicate: Any = True) -> int:
    """The hands a match of `game` plays: `hands`, or the game's default when None. Refuses a count
    for a game whose matches are one game, and for poker one outside 2..ARENA_MAX_POKER_HANDS or, in
    duplicate, an odd one (every deal is played twice)."""
    if not isinstance(duplicate, bool):
        raise ValidationError(f"duplicate must be true or false, got {duplicate!r}")
    if not poker_game_is(game.name):
        if hands not in (None, 1) or not duplicate:
            raise ValidationError(f"a {game.title} match is one game: hands and duplicate are for poker")
        return 1
    if hands is None:
        return get_game(game.name).hands_per_match
    limit = settings.ARENA_MAX_POKER_HANDS
    if isinstance(hands, bool) or not isinstance(hands, int) or not 2 <= hands <= limit:
        raise ValidationError(f"hands must be a whole number from 2 to {limit}, got {hands!r}")
    if duplicate and hands % 2:
        raise ValidationError(f"a duplicate match plays every deal twice: hands must be even, got {hands}")
    return hands


def poker_match_play(
    *, match: Match, players: Mapping[str, Player], on_hands: Callable[[int], None] | None = None
) -> MatchResult:
    """Play every hand of `match` between its players (by match seat), each with its policy for
    whichever seat it sits in; the result as `Match.apply_result` stores it. `on_hands` hears the
    hands done every few dozen deals: a caller marks the row alive, or the reaper would take a long
    match for one whose worker died."""
    one, two = match.game.seats[:2]
    # A row from before matches had hands is one hand: it cannot be dealt twice.
    duplicate = match.duplicate and match.hands > 1
    played = play_poker_match(
        match.game.name,
        _agents(match, players[one]),
        _agents(match, players[two]),
        deals=match.hands // 2 if duplicate else match.hands,
        seed=match.seed,
        duplicate=duplicate,
        on_hands=on_hands,
    )
    return played.match_result()


def _agents(match: Match, player: Player) -> dict[str, Agent]:
    """The player's agent for each seat (a checkpoint's per-seat policies, a bot for both)."""
    agents = player_agents(player=player, seats=match.game.seats, seed=match.seed)
    return {seat: agent_at_temperature(a, match.temperature, match.seed) for seat, a in agents.items()}


def poker_match_summary(match: Match, shown: int | None = None) -> dict[str, Any] | None:
    """A finished poker match of many hands for its page: the first seat's mbb/hand with its 95%
    interval, and every hand with its small blind and chips by player. None for one game."""
    hands = match.hand_results
    summary = (match.result or {}).get("poker")
    if not hands or not summary:
        return None
    one, two = match.game.seats[:2]
    labels = {s.seat: s.player.label for s in match.seats.select_related("player__checkpoint__agent")}
    rows = []
    for index, record in enumerate(hands):
        # Deal i has its small blind on seat i % 2 (`marl.poker_match.deal_seeds`); A sits in the
        # first seat unless the hand is the swapped one.
        a_blind = record["deal"] % 2 == (1 if record["swapped"] else 0)
        rows.append(
            {
                "index": index,
                "deal": record["deal"],
                "small_blind": labels.get(one if a_blind else two),
                "seat_of_first": two if record["swapped"] else one,
                "chips": [record["chips"][one], record["chips"][two]],
                "reason": record.get("reason", ""),
                "shown": index == (len(hands) - 1 if shown is None else shown),
            }
        )
    return {
        **summary,
        "first": labels.get(one),
        "second": labels.get(two),
        "first_chips": summary["chips"][one],
        "rows": rows,
    }
