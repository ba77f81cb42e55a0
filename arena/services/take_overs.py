"""Take over from here: a human game from any position of a finished game's replay (a match, a
tournament or league game, another human game), against the player that sat in the other seat.

The new game starts from the source's first `ply` moves, stored as its opening with the source's seed
(so a dealt game deals the same cards), and records the match and ply it came from.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from arena.models import Match, Player
from arena.services.agents import agent_check_active
from arena.services.play import human_game_start
from arena.services.play_events import PlayError
from arena.services.players import entrant_checkpoint
from marl.errors import MarlError
from marl.match import MatchState


def match_take_over(*, user, match_id: int, ply: Any, seat: str) -> Match:
    """Start a game for `user` in `seat` from the position after `ply` moves of match `match_id`,
    against the checkpoint or bot that played the other seat there. Raises Match.DoesNotExist,
    ValidationError (bad ply or seat, a finished position, a person in the other seat) or PlayError."""
    if not getattr(user, "is_authenticated", False):
        raise PlayError("forbidden", "sign in to play")
    source = Match.objects.select_related("game").get(pk=match_id)
    if source.is_live:
        raise ValidationError(f"match {source.pk} is still {source.status}: take over once it has ended")
    game = source.game
    if seat not in game.seats:
        raise ValidationError(f"seat must be one of {', '.join(game.seats)}")
    moves = _position(source, ply)
    other = next(s for s in game.seats if s != seat)
    opponent = _opponent(source, other)
    return human_game_start(
        user=user, game=game, seat=seat, opponent=opponent, seed=source.seed, opening=moves, source=source
    )


def _position(source: Match, ply: Any) -> list[int]:
    """The source's first `ply` moves, checked to leave a game still to play."""
    if source.hand_results:
        raise ValidationError(
            f"match {source.pk} is many poker hands: play a hand of your own from the play page"
        )
    if not isinstance(ply, int) or isinstance(ply, bool) or not 0 <= ply <= len(source.moves):
        raise ValidationError(f"ply must be an integer from 0 to {len(source.moves)} (the moves of the game)")
    moves = list(source.moves[:ply])
    try:
        with MatchState(source.game.name, seed=source.seed, moves=moves) as state:
            over = state.done
    except MarlError as exc:
        raise ValidationError(f"cannot rebuild match {source.pk} at ply {ply}: {exc}") from None
    if over:
        raise ValidationError(f"the game is over at ply {ply}: take over from an earlier move")
    return moves


def _opponent(source: Match, seat: str) -> Player:
    """The player that sat in `seat` of the source, if it can play here again (not a person, not an
    archived agent, a policy for that seat)."""
    sat = source.seats.select_related("player__checkpoint__agent__game").filter(seat=seat).first()
    if sat is None:
        raise ValidationError(f"match {source.pk} has nobody in {seat}")
    player = sat.player
    if player.kind == Player.HUMAN:
        raise ValidationError(f"{seat} was played by a person in match {source.pk}: take that seat yourself")
    if player.kind == Player.CHECKPOINT:
        agent_check_active(agent=player.checkpoint.agent)
        entrant_checkpoint(checkpoint=player.checkpoint, seat=seat)
    return player
