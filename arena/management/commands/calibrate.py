"""`manage.py calibrate [--here]`: rate and measure every checkpoint still waiting for its rating (rows
from before calibration existed, or whose job message was lost). Queues the jobs on the evaluation
queue, or with `--here` runs them in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from arena.services.strength import checkpoints_measure_waiting


class Command(BaseCommand):
    help = "Rate and measure the checkpoints still waiting for a rating."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--here", action="store_true", help="run the jobs in this process")

    def handle(self, *args, **options) -> None:
        counts = checkpoints_measure_waiting(in_process=options["here"])
        verb = "ran" if options["here"] else "queued"
        self.stdout.write(
            f"{verb} {counts['calibrations']} calibrations, {counts['strengths']} strength jobs and "
            f"{counts['exploitabilities']} exploitability jobs"
        )
