"""marl stays a plain library: no web framework, and no Tianshou outside the training modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django", "channels", "celery")


def _modules_after_import(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_marl_imports_no_django_channels_or_celery():
    every_module = " ".join(
        f"import marl.{p.stem};" for p in sorted((ROOT / "marl").glob("*.py")) if p.stem != "__main__"
    )
    loaded = _modules_after_import(every_module)
    leaked = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
    assert leaked == [], f"marl pulled in {leaked[:5]}"


def test_serving_a_move_does_not_import_tianshou():
    loaded = _modules_after_import(
        "import marl.games, marl.match, marl.agents, marl.bots, marl.checkpoints, marl.nets, marl.ratings"
    )
    assert not any(m.split(".")[0] == "tianshou" for m in loaded)


def test_only_games_imports_pettingzoo_and_only_training_imports_tianshou():
    for path in sorted((ROOT / "marl").glob("*.py")):
        text = path.read_text()
        if path.stem != "games" and not path.stem.startswith("games_"):  # games_chess: one game's entry
            assert "import pettingzoo" not in text and "from pettingzoo" not in text, path.name
        if path.stem not in ("train", "_tianshou", "_tianshou_speed", "_fast_env"):  # training only
            assert "import tianshou" not in text and "from tianshou" not in text, path.name
