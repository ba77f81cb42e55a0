"""The ``Procfile``: the arena's long-running processes (web, two workers, beat), one shell command each.

``make run`` runs them all under honcho (:mod:`launcher.run`). A container runs one:
``python -m launcher.procfile web`` replaces itself with that entry's shell, so the process receives
the container's stop signal directly and gets the whole stop grace period (honcho would SIGKILL it
after a few seconds, cutting a Celery worker's warm shutdown short).
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from honcho.environ import parse_procfile

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCFILE = REPO_ROOT / "Procfile"
# Options of the web entry that a deployment (and the launcher) fills in; every other flag is how
# Arena is served, wherever it runs (see uvicorn_flags).
_WEB_PLACES = frozenset({"--host", "--port", "--workers"})


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """Each process name in the Procfile with its shell command, in file order."""
    return dict(parse_procfile(path.read_text()).processes)


def uvicorn_flags(path: Path = PROCFILE) -> list[str]:
    """The web entry's uvicorn flags other than host, port and workers: how Arena is served.

    The Procfile is the one place they are written; the test servers serve with the same flags.
    """
    words = shlex.split(procfile_commands(path)["web"])
    start = words.index("arena.asgi:application") + 1
    flags: list[str] = []
    skip = False
    for word in words[start:]:
        if skip:
            skip = False
        elif word in _WEB_PLACES:
            skip = True
        else:
            flags.append(word)
    return flags


def default_web_concurrency(cores: int | None = None) -> int:
    """Web processes when ``WEB_CONCURRENCY`` is unset: one per core, at least 2, at most 4.

    Two keep the site answering while one is busy (a checkpoint's first load takes torch's time);
    more than four rarely pays, as the database and Redis are shared.
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return min(4, max(2, cores))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Replace this process with the shell command of the Procfile entry named on the command line."""
    commands = procfile_commands()
    parser = argparse.ArgumentParser(
        prog="python -m launcher.procfile", description="Run one Procfile process in place of this one."
    )
    parser.add_argument("name", choices=list(commands), help="the Procfile entry to run")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)  # the commands name files relative to the repository (var/run/...)
    os.environ.setdefault("WEB_CONCURRENCY", str(default_web_concurrency()))
    os.execvp("sh", ["sh", "-c", commands[args.name]])


if __name__ == "__main__":
    main()
