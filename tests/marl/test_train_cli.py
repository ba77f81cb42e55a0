"""``python -m marl.train`` trains, shows progress, prints a summary, and rejects bad arguments with 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--envs",
    "2",
    "--eval-games",
    "4",
    "--set",
    "step_per_collect=16",
    "batch_size=16",
    'network={"kind": "mlp", "hidden": [16]}',
]


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marl.train", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_a_tiny_cli_run_writes_checkpoints_and_prints_a_summary(tmp_path):
    run = _train(
        "--game",
        "tictactoe",
        "--algo",
        "dqn",
        "--steps",
        "64",
        "--epoch-steps",
        "32",
        "--out",
        str(tmp_path),
        *TINY,
    )
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("done: dqn on tictactoe") and "player_1 win" in summary
    assert "64/64" in run.stderr  # the tqdm bar over env steps reached the end
    sidecars = sorted(tmp_path.glob("player_1-*.json"))
    assert len(sidecars) == 2
    last = json.loads(sidecars[-1].read_text())

    resumed = _train(
        "--game",
        "tictactoe",
        "--steps",
        "96",
        "--out",
        str(tmp_path / "r"),
        "--resume",
        str(sidecars[-1]),
        *TINY,
    )
    assert resumed.returncode == 0, resumed.stderr
    child = json.loads(next((tmp_path / "r").glob("*.json")).read_text())
    assert child["parent"] == sidecars[-1].stem and child["env_steps"] > last["env_steps"]


def test_an_unknown_algorithm_exits_with_status_2():
    run = _train("--game", "tictactoe", "--algo", "sac", "--steps", "10", "--out", "/tmp/x")
    assert run.returncode == 2 and "invalid choice" in run.stderr


def test_a_negative_step_count_exits_with_status_2_and_says_why():
    run = _train("--game", "tictactoe", "--steps", "-5", "--out", "/tmp/x")
    assert run.returncode == 2 and "env_steps must be in" in run.stderr


def test_an_unknown_game_or_opponent_exits_with_status_2():
    run = _train("--game", "go19", "--steps", "10", "--out", "/tmp/x")
    assert run.returncode == 2 and "unknown game" in run.stderr
    run = _train("--game", "tictactoe", "--steps", "10", "--out", "/tmp/x", "--opponent", "nobody")
    assert run.returncode == 2 and "neither 'pool' nor a bot" in run.stderr


def test_a_missing_resume_checkpoint_exits_with_status_2(tmp_path):
    run = _train(
        "--game",
        "tictactoe",
        "--steps",
        "10",
        "--out",
        str(tmp_path),
        "--resume",
        str(tmp_path / "nope.json"),
    )
    assert run.returncode == 2 and "does not exist" in run.stderr
