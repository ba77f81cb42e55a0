"""The ``Procfile``: the arena's long-running processes (web, worker, beat), one shell command each.

``make run`` runs them all under honcho (:mod:`launcher.run`). A container runs one:
``python -m launcher.procfile web`` replaces itself with that entry's shell, so the process receives
the container's stop signal directly and gets the whole stop grace period (honcho would SIGKILL it
after a few seconds, cutting a Celery worker's warm shutdown short).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from honcho.environ import parse_procfile

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCFILE = REPO_ROOT / "Procfile"


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """Each process name in the Procfile with its shell command, in file order."""
    return dict(parse_procfile(path.read_text()).processes)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Replace this process with the shell command of the Procfile entry named on the command line."""
    commands = procfile_commands()
    parser = argparse.ArgumentParser(
        prog="python -m launcher.procfile", description="Run one Procfile process in place of this one."
    )
    parser.add_argument("name", choices=list(commands), help="the Procfile entry to run")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)  # the commands name files relative to the repository (var/run/...)
    os.execvp("sh", ["sh", "-c", commands[args.name]])


if __name__ == "__main__":
    main()
