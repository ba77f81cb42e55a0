"""`manage.py anchors measure|show`: the reference bots' pinned Elo values.

manage.py anchors measure --game tictactoe --pairs 200   # play anchor-vs-anchor game pairs, fit, store
manage.py anchors show                                   # the pins in force, with the games behind them
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.services.anchors import MEASURED, Pin, anchor_pins, anchors_measure


def _line(game: str, bot: str, pin: Pin) -> str:
    return f"{game:>14} {bot:>12} {pin.elo:8.1f}  [{pin.low:7.1f}, {pin.high:7.1f}]  {pin.games} games"


class Command(BaseCommand):
    help = "Measure (or show) the reference bots' pinned Elo values, random = 0."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        measure = sub.add_parser("measure", help="play anchor-vs-anchor game pairs, fit them, store the pins")
        measure.add_argument("--game", action="append", help="a game (repeatable); all by default")
        measure.add_argument(
            "--pairs", type=int, default=200, help="game pairs per two anchors (poker: duplicate matches)"
        )
        measure.add_argument("--seed", type=int, default=0)
        sub.add_parser("show", help="the pins in force")

    def handle(self, *args, **options) -> None:
        games = options.get("game") or list(MEASURED)
        unknown = sorted(set(games) - set(MEASURED))
        if unknown:
            raise CommandError(f"no anchors for {', '.join(unknown)} (known: {', '.join(MEASURED)})")
        if options["action"] == "measure" and options["pairs"] < 1:
            raise CommandError("--pairs must be at least 1")
        for game in games:
            if options["action"] == "measure":
                pins = anchors_measure(game=game, pairs=options["pairs"], seed=options["seed"])
            else:
                pins = anchor_pins(game)
            for bot, pin in pins.items():
                self.stdout.write(_line(game, bot, pin))
