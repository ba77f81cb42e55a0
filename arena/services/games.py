"""Games: the DB mirror of `marl.games`'s registry."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from arena.models import Game
from marl.games import GAMES


def game_sync() -> list[Game]:
    """Create or update a Game row for every game the registry knows. Idempotent."""
    games = []
    for spec in GAMES.values():
        game, _ = Game.objects.update_or_create(
            name=spec.name,
            defaults={
                "env_id": spec.env_id,
                "title": spec.title,
                "render_hint": spec.render_hint,
                "seats": list(spec.seats),
            },
        )
        games.append(game)
    return games


def game_get(name: str) -> Game:
    """The Game called `name`, or a ValidationError naming the games there are."""
    try:
        return Game.objects.get(name=name)
    except Game.DoesNotExist:
        known = ", ".join(Game.objects.values_list("name", flat=True)) or "none"
        raise ValidationError(f"unknown game {name!r} (known: {known})") from None
