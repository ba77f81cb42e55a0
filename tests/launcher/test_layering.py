"""The launcher is tooling around the arena: it loads no Django itself, and the app never imports it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_launcher_imports_no_django_channels_or_celery() -> None:
    # Not __main__: importing it starts the arena.
    every_module = sorted(p.stem for p in (ROOT / "launcher").glob("*.py") if p.stem != "__main__")
    modules = " ".join(f"import launcher.{name};" for name in every_module)
    code = f"import json, sys\n{modules}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}
    assert loaded & {"django", "channels", "celery", "arena", "marl"} == set()


def test_the_app_and_the_learning_core_never_import_the_launcher() -> None:
    importing = re.compile(r"^\s*(from|import)\s+launcher\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("arena", "marl")
        for path in sorted((ROOT / package).rglob("*.py"))
        if importing.search(path.read_text())
    ]
    assert offenders == []
