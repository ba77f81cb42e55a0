"""Each agent lists its failures on its page: failed and timed-out runs and the failed matches its
checkpoints played, with the error's last line, the whole of it, and where each stopped."""

from __future__ import annotations

import pytest
from django.utils import timezone

from arena.models import Match, TrainingRun
from arena.selectors.failures import agent_failures
from tests.factories import CheckpointFactory, MatchFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

TRACEBACK = (
    'Traceback (most recent call last):\n  File "train.py", line 3\nRuntimeError: CUDA out of memory\n'
)


def _failed_match(spec: str, error: str) -> Match:
    match = MatchFactory(seats={"player_1": spec, "player_2": "bot:random"})
    Match.objects.filter(pk=match.pk).update(
        status=Match.FAILED, error=error, attempts=3, moves=[4, 0], finished_at=timezone.now()
    )
    return match


def test_an_agents_failed_runs_and_matches_are_listed_with_their_errors(agent):
    failed = TrainingRunFactory(agent=agent)
    TrainingRun.objects.filter(pk=failed.pk).update(
        status=TrainingRun.FAILED, error=TRACEBACK, env_steps_done=300, finished_at=timezone.now()
    )
    timed_out = TrainingRunFactory(agent=agent)
    TrainingRun.objects.filter(pk=timed_out.pk).update(status=TrainingRun.TIMED_OUT, error="")
    TrainingRunFactory(agent=agent)  # queued: no failure
    checkpoint = CheckpointFactory(agent=agent)
    match = _failed_match(f"checkpoint:{checkpoint.pk}", "engine crashed")
    _failed_match("bot:minimax", "not this agent's")

    rows = {(r["kind"], r["id"]): r for r in agent_failures(agent=agent)}
    assert set(rows) == {("run", failed.pk), ("run", timed_out.pk), ("match", match.pk)}
    run = rows["run", failed.pk]
    assert run["error"] == "RuntimeError: CUDA out of memory" and run["detail"] == TRACEBACK.strip()
    assert run["where"] == "at 300 of 1000 env steps" and run["status"] == "Failed"
    assert rows["run", timed_out.pk]["error"] == "no error recorded"
    assert rows["match", match.pk]["where"] == "after 2 moves, 3 tries"


def test_the_agent_page_shows_its_failures(client, agent):
    failed = TrainingRunFactory(agent=agent)
    TrainingRun.objects.filter(pk=failed.pk).update(status=TrainingRun.FAILED, error=TRACEBACK)
    html = client.get(agent.get_absolute_url()).content.decode()
    assert f'data-failure="run-{failed.pk}"' in html
    assert "<code>RuntimeError: CUDA out of memory</code>" in html and "File &quot;train.py&quot;" in html


def test_an_agent_without_failures_says_so(client, agent):
    assert "No failed runs or matches." in client.get(agent.get_absolute_url()).content.decode()
