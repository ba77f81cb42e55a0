"""`manage.py tournament create|run|show`: tournaments from the command line.

    manage.py tournament create --user ada --game tictactoe --format round_robin \
        --participant bot:random --participant bot:minimax --participant checkpoint:3 [--queue]
    manage.py tournament run 7      # play it to the end in this process (batched, no worker needed)
    manage.py tournament show 7     # standings, Elo with intervals, head to head
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.models import Match, Tournament, TournamentRound
from arena.services import tournaments
from arena.services.match_batches import matches_play_batch


def tournament_run(*, tournament_id: int, poll: float = 0.5) -> Tournament:
    """Play a tournament to its end in this process, batched, without a worker. Matches a worker
    already holds are waited for."""
    tournaments.tournament_start(user=None, tournament_id=tournament_id, dispatch=False)
    while True:
        tournament = Tournament.objects.get(pk=tournament_id)
        running = tournament.round_set.filter(status=TournamentRound.RUNNING)
        if tournament.status != Tournament.RUNNING or not running.exists():
            return tournament
        pending = list(
            Match.objects.filter(tournament_match__round__in=running, status=Match.PENDING).values_list(
                "pk", flat=True
            )
        )
        if pending:
            matches_play_batch(match_ids=pending, dispatch=False)
        elif tournaments.tournament_advance(tournament_id=tournament_id, dispatch=False) is None:
            time.sleep(poll)


class Command(BaseCommand):
    help = "Create, run or show a tournament."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a tournament")
        create.add_argument("--user", required=True, help="username of the creator")
        create.add_argument("--game", required=True)
        create.add_argument("--format", required=True, choices=[f for f, _ in Tournament.FORMATS])
        create.add_argument(
            "--participant", action="append", default=[], help="checkpoint:<id> or bot:<name>"
        )
        create.add_argument("--name", default="")
        create.add_argument("--games-per-pair", type=int, default=2)
        create.add_argument("--rounds", type=int, default=None, help="Swiss only")
        create.add_argument("--batch-size", type=int, default=32)
        create.add_argument("--seed", type=int, default=None)
        create.add_argument("--queue", action="store_true", help="start it now on the workers")
        for name in ("run", "show"):
            sub.add_parser(name).add_argument("tournament_id", type=int)

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        except Tournament.DoesNotExist:
            raise CommandError("no such tournament") from None

    def _create(self, options: dict) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        tournament = tournaments.tournament_create(
            user=user,
            game=options["game"],
            format=options["format"],
            participants=options["participant"],
            name=options["name"],
            games_per_pair=options["games_per_pair"],
            rounds=options["rounds"],
            batch_size=options["batch_size"],
            seed=options["seed"],
            start=options["queue"],
        )
        self.stdout.write(self.style.SUCCESS(f"tournament {tournament.pk} created ({tournament.status})"))

    def _run(self, options: dict) -> None:
        tournament = tournament_run(tournament_id=options["tournament_id"])
        self.stdout.write(f"tournament {tournament.pk}: {tournament.status}")
        self._show(options)

    def _show(self, options: dict) -> None:
        tournament = Tournament.objects.select_related("game").get(pk=options["tournament_id"])
        table = tournament.table or tournaments.tournament_table(tournament=tournament)
        self.stdout.write(
            f"{tournament} ({tournament.get_format_display()}, {tournament.status}): {table['games']} games"
        )
        self.stdout.write(
            f"{'#':>3} {'player':<32} {'G':>4} {'W':>4} {'D':>4} {'L':>4} {'pts':>6} {'BT':>6}  95% interval"
        )
        for row in table["standings"]:
            bt = (
                f"{row['elo']:6.0f}  [{row['elo_lo']:.0f}, {row['elo_hi']:.0f}]" if "elo" in row else "     -"
            )
            self.stdout.write(
                f"{row['rank']:>3} {row['label'][:32]:<32} {row['games']:>4} {row['wins']:>4} "
                f"{row['draws']:>4} {row['losses']:>4} {row['points']:>6.1f} {bt}"
            )
        labels = table["labels"]
        for a, row in table["head_to_head"].items():
            cells = ", ".join(f"{labels.get(b, b)} {r['w']}/{r['d']}/{r['l']}" for b, r in row.items())
            self.stdout.write(f"  {labels.get(a, a)}: {cells}")
