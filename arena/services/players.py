"""Players: what sits in a seat (a checkpoint, a reference bot or a person), and turning one into a
`marl` agent that can move."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from arena.models import Checkpoint, Game, Player
from arena.services.agents import agent_check_active
from marl.agents import Agent
from marl.bots import make_bot
from marl.errors import MarlError


def player_for_checkpoint(*, checkpoint: Checkpoint) -> Player:
    player, _ = Player.objects.get_or_create(
        game=checkpoint.agent.game, kind=Player.CHECKPOINT, checkpoint=checkpoint
    )
    return player


def player_for_bot(*, game: Game, bot: str) -> Player:
    """The player for a bot spec, checked when it is entered (a bad spec never reaches a worker)."""
    bot = str(bot).strip().lower()[:80]
    try:
        make_bot(game.name, bot)  # cheap: builds the bot, searches nothing
    except MarlError as exc:
        raise ValidationError(str(exc)[:300]) from None
    player, _ = Player.objects.get_or_create(game=game, kind=Player.BOT, bot=bot)
    return player


def player_for_user(*, game: Game, user) -> Player:
    player, _ = Player.objects.get_or_create(game=game, kind=Player.HUMAN, user=user)
    return player


def player_from_spec(*, game: Game, spec: str, user=None) -> Player:
    """Parse a seat spec: `checkpoint:<id>`, `bot:<name>` or `human` (the requesting user)."""
    kind, _, value = str(spec).partition(":")
    if kind == "checkpoint":
        try:
            checkpoint = Checkpoint.objects.select_related("agent__game").get(pk=int(value))
        except (ValueError, Checkpoint.DoesNotExist):
            raise ValidationError(f"no checkpoint {value!r}") from None
        if checkpoint.agent.game_id != game.pk:
            raise ValidationError(
                f"checkpoint {checkpoint.pk} is for {checkpoint.agent.game.name}, not {game.name}"
            )
        agent_check_active(agent=checkpoint.agent)
        return player_for_checkpoint(checkpoint=checkpoint)
    if kind == "bot":
        return player_for_bot(game=game, bot=value)
    if kind == "human":
        if user is None or not user.is_authenticated:
            raise ValidationError("a human seat needs a signed-in user")
        return player_for_user(game=game, user=user)
    raise ValidationError(f"bad seat {spec!r}: use checkpoint:<id>, bot:<name> or human")


def player_agent(*, player: Player, seed: int | None = None) -> Agent:
    """A `marl` agent that plays for this player. Checkpoints are loaded (and verified) from disk."""
    if player.kind == Player.BOT:
        return make_bot(player.game.name, player.bot, seed=seed)
    if player.kind == Player.CHECKPOINT:
        from marl.checkpoints import load_agent  # lazy: torch

        return load_agent(player.checkpoint.absolute_path())
    raise ValueError(f"{player} is a person; people move through the play service")
