"""Pinned ratings of the reference bots: the fixed points of each game's rating scale.

The scale is Elo points with the random bot at 0: `display = (mu - mu_random) * ELO_PER_MU`, so 100
points ahead of a player means an expected score of 0.64 against it. The other bots are pinned at
values measured once against random (perfect minimax scores about 0.97 against random in tic-tac-toe,
alpha-beta depth 4 about 0.99 in connect four). Anchors never move (`Player.is_anchor`), so an agent's
number means the same over weeks; their small sigma tells the rating update to trust them.
"""

from __future__ import annotations

from arena.models import Game, Player, Rating
from arena.services.players import player_for_bot
from marl.ratings import ELO_PER_MU, default_rating

# Elo points above the random bot.
ANCHOR_ELO: dict[str, dict[str, float]] = {
    "tictactoe": {"random": 0.0, "minimax": 600.0},
    "connect_four": {"random": 0.0, "alphabeta": 800.0},
}
ANCHOR_SIGMA = 1.0


def anchor_mu(elo: float) -> float:
    return default_rating().mu + elo / ELO_PER_MU


def display_elo(mu: float) -> float:
    """A rating's mu on the game's scale (random bot = 0)."""
    return (mu - default_rating().mu) * ELO_PER_MU


def display_sigma(sigma: float) -> float:
    return sigma * ELO_PER_MU


def anchors_pin(*, game: Game) -> list[Player]:
    """Create the game's reference-bot players with their pinned ratings (and reset drifted ones)."""
    players = []
    for bot, elo in ANCHOR_ELO.get(game.name, {}).items():
        player = player_for_bot(game=game, bot=bot)
        Rating.objects.update_or_create(
            player=player, pool=game.name, defaults={"mu": anchor_mu(elo), "sigma": ANCHOR_SIGMA}
        )
        players.append(player)
    return players


def anchor_bots(game: str) -> list[str]:
    """The reference bots of a game, weakest first."""
    return sorted(ANCHOR_ELO.get(game, {}), key=lambda bot: ANCHOR_ELO[game][bot])
