"""``python -m marl.play`` prints a score table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _play(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marl.play", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_play_cli_prints_a_score_table_for_two_bots() -> None:
    run = _play("--game", "tictactoe", "--a", "minimax", "--b", "random", "--games", "10", "--seed", "0")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "minimax (A) vs random (B), 10 games" in lines[0] and "games/s" in lines[0]
    assert lines[1].split() == ["side", "games", "wins", "draws", "losses", "score"]
    rows = {line.split("  ")[0].strip(): line.split()[-5:] for line in lines[2:]}
    minimax = rows["minimax (A)"]
    assert minimax[0] == "10" and minimax[3] == "0"  # 10 games, no losses
    assert sum(line.strip().startswith("as player_1") for line in lines) == 2
    assert sum(line.strip().startswith("as player_2") for line in lines) == 2


def test_play_cli_works_for_connect_four_bots() -> None:
    run = _play("--game", "connect_four", "--a", "alphabeta:2", "--b", "random", "--games", "4")
    assert run.returncode == 0, run.stderr
    assert "alphabeta:2 (A)" in run.stdout and "as player_0" in run.stdout


def test_play_cli_rejects_an_unknown_agent() -> None:
    run = _play("--game", "tictactoe", "--a", "nobody", "--b", "random", "--games", "2")
    assert run.returncode == 2
    assert "neither a bot nor an existing checkpoint" in run.stderr
