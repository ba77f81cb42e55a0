"""`manage.py league create|tick|show`: leagues from the command line.

    manage.py league create --user ada --game tictactoe --name ladder --member 3 --member 4 \
        --steps-per-tick 2000 --interval 600 [--train '{"num_envs": 4}'] [--pool-bots] \
        [--no-self-play] [--eval-search 50]
    manage.py league tick 2         # run one tick now, in this process (refused while one runs)
    manage.py league show 2         # pool, ratings and the last ticks' results
"""

from __future__ import annotations

import json
import os
import socket

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.models import League, LeagueSnapshot, Rating
from arena.services import leagues
from arena.services.anchors import display_elo


class Command(BaseCommand):
    help = "Create, tick or show a league."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a league of your agents")
        create.add_argument("--user", required=True)
        create.add_argument("--game", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--member", type=int, action="append", default=[], help="agent id")
        create.add_argument("--steps-per-tick", type=int, default=2000)
        create.add_argument("--interval", type=int, default=600, help="seconds between scheduled ticks")
        create.add_argument("--eval-games", type=int, default=20)
        create.add_argument("--pool-size", type=int, default=5)
        create.add_argument("--train", default="{}", help="extra TrainConfig keys as JSON")
        create.add_argument("--pool-bots", action="store_true", help="reference bots join the training pool")
        create.add_argument(
            "--no-self-play", action="store_true", help="members learning every seat train seat by seat"
        )
        create.add_argument("--eval-search", type=int, default=0, help="also evaluate with mcts:N on top")
        for name in ("tick", "show"):
            sub.add_parser(name).add_argument("league_id", type=int)

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        except League.DoesNotExist:
            raise CommandError("no such league") from None

    def _create(self, options: dict) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        try:
            overrides = json.loads(options["train"])
        except ValueError as exc:
            raise CommandError(f"--train is not JSON: {exc}") from None
        league = leagues.league_create(
            user=user,
            game=options["game"],
            name=options["name"],
            members=options["member"],
            env_steps_per_tick=options["steps_per_tick"],
            interval_seconds=options["interval"],
            eval_games=options["eval_games"],
            pool_size=options["pool_size"],
            train_overrides=overrides,
            pool_bots=options["pool_bots"],
            self_play=not options["no_self_play"],
            eval_search=options["eval_search"],
        )
        self.stdout.write(
            self.style.SUCCESS(f"league {league.pk} created; ticks every {league.interval_seconds} s")
        )

    def _tick(self, options: dict) -> None:
        worker = f"manage.py@{socket.gethostname()}:{os.getpid()}"
        number = leagues.league_tick(league_id=options["league_id"], worker=worker, force=True)
        if number is None:
            raise CommandError("another tick is running; nothing done")
        self.stdout.write(f"tick {number} done")
        self._show(options)

    def _show(self, options: dict) -> None:
        league = League.objects.select_related("game").get(pk=options["league_id"])
        self.stdout.write(f"{league} ({league.game.name}, {league.status}): {league.tick_count} ticks")
        for snap in LeagueSnapshot.objects.filter(league=league, active=True).select_related(
            "checkpoint__agent"
        ):
            rating = Rating.objects.filter(
                player__checkpoint=snap.checkpoint, player__search=0, pool=league.game.name
            ).first()
            elo = f"{display_elo(rating.mu):.0f}" if rating else "-"
            self.stdout.write(f"  pool: {snap.checkpoint.label:<32} tick {snap.tick:>4}  rating {elo}")
        for tick in league.ticks.order_by("-number")[:5]:
            self.stdout.write(f"tick {tick.number}: {tick.status} {tick.error}")
            for row in tick.results.values():
                vs = ", ".join(f"{o} {w}/{d}/{lo}" for o, (w, d, lo) in row["vs"].items())
                rating = "-" if row["rating"] is None else f"{row['rating']:.0f}"
                self.stdout.write(f"  {row['label']}: rating {rating}; {vs}")
