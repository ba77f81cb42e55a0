"""Failures as data people can read: what failed, where in the code, where the work stopped, and the
last lines of its log.

`LogTail` keeps the last log lines of the thread doing one piece of work (a worker runs several tasks
in threads, and each report must hold only its own task's lines); `failure_report` puts them together
with the exception's traceback into plain JSON, stored with the run and shown on its page.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any

LOG_LINES = 20
TRACEBACK_LINES = 20
_ROOT = Path(__file__).resolve().parents[2]
_OUR_CODE = ("arena", "marl")
_FILE = re.compile(r'File "([^"]+)"')


class LogTail(logging.Handler):
    """The last `lines` log records of the thread that made it, formatted; a context manager that
    hangs it on the root logger for as long as the work runs."""

    def __init__(self, lines: int = LOG_LINES) -> None:
        super().__init__(level=logging.INFO)
        self.thread = threading.get_ident()
        self.lines: deque[str] = deque(maxlen=lines)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            # The first line of each record: a traceback logged with it is reported on its own.
            self.lines.append(_unrooted(self.format(record).splitlines()[0])[:500])

    def __enter__(self) -> LogTail:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def _where(tb: TracebackType | None) -> str:
    """The innermost frame of Arena's own code (else the innermost of all), as `path:line in function`."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return ""
    ours = [f for f in frames if _ours(Path(f.filename))]
    frame = (ours or frames)[-1]
    path = Path(frame.filename)
    shown = path.relative_to(_ROOT) if _ours(path) else path.name  # no server paths
    return f"{shown}:{frame.lineno} in {frame.name}"


def _ours(path: Path) -> bool:
    return path.is_absolute() and path.is_relative_to(_ROOT) and path.relative_to(_ROOT).parts[0] in _OUR_CODE


def _scrub(line: str) -> str:
    """A traceback line without the server's paths: our files from the repository root, libraries
    from their site-packages folder."""

    def short(found: re.Match[str]) -> str:
        path = Path(found.group(1))
        if path.is_absolute() and path.is_relative_to(_ROOT) and ".venv" not in path.parts:
            return f'File "{path.relative_to(_ROOT)}"'
        if "site-packages" in path.parts:
            return f'File "{Path(*path.parts[path.parts.index("site-packages") + 1 :])}"'
        return f'File "{path.name}"'

    return _unrooted(_FILE.sub(short, line))[:500]


def _unrooted(text: str) -> str:
    """`text` with the media folder and the repository's root taken off the paths it names."""
    from django.conf import settings

    text = text.replace(f"{settings.MEDIA_ROOT}/", "media/").replace(str(settings.MEDIA_ROOT), "media")
    return text.replace(f"{_ROOT}/", "")


def failure_report(exc: BaseException, *, log: LogTail, stopped_at: dict[str, Any]) -> dict[str, Any]:
    """What failed (the exception), where in the code, where the work stopped, and the log's tail
    followed by the traceback's, as plain values."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tb_lines = [line for chunk in lines for line in chunk.rstrip("\n").splitlines()]
    return {
        "what": _unrooted(f"{type(exc).__name__}: {exc}")[:500],
        "where": _where(exc.__traceback__),
        "stopped_at": stopped_at,
        "log": [*log.lines, *(_scrub(line) for line in tb_lines[-TRACEBACK_LINES:])],
    }
