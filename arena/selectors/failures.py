"""Reads of what went wrong: an agent's failed runs and matches, for its page."""

from __future__ import annotations

from typing import Any

from arena.models import Agent, Match, TrainingRun


def agent_failures(*, agent: Agent, limit: int = 20) -> list[dict[str, Any]]:
    """The agent's failed and timed-out training runs and the failed matches its checkpoints played,
    newest first: what failed (the error's last line, and the whole of it), when and where it stopped."""
    runs = agent.training_runs.filter(status__in=(TrainingRun.FAILED, TrainingRun.TIMED_OUT))
    matches = (
        Match.objects.filter(status=Match.FAILED, seats__player__checkpoint__agent=agent)
        .select_related("game")
        .distinct()
    )
    rows = [
        {
            "kind": "run",
            "id": run.pk,
            "url": run.get_absolute_url(),
            "status": run.get_status_display(),
            "when": run.finished_at or run.created_at,
            "where": _said(run.failure) or f"at {run.env_steps_done} of {run.env_steps_total} env steps",
            **_error_lines(run.error),
        }
        for run in runs.order_by("-created_at")[:limit]
    ] + [
        {
            "kind": "match",
            "id": match.pk,
            "url": match.get_absolute_url(),
            "status": match.get_status_display(),
            "when": match.finished_at or match.created_at,
            "where": (
                _said(match.failure) or f"after {len(match.moves)} move{'s' if len(match.moves) != 1 else ''}"
            )
            + (f", {match.attempts} tries" if match.attempts > 1 else ""),
            **_error_lines(match.error),
        }
        for match in matches.order_by("-created_at")[:limit]
    ]
    return sorted(rows, key=lambda r: r["when"], reverse=True)[:limit]


def _said(failure: dict[str, Any] | None) -> str:
    """Where a failure report says the work stopped ("at 256 of 600 env steps, after epoch 1"), or ""."""
    return str(((failure or {}).get("stopped_at") or {}).get("said") or "")


def _error_lines(error: str) -> dict[str, str]:
    """The error's last non-blank line (a traceback ends with the exception) and the whole text."""
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return {"error": lines[-1].strip() if lines else "no error recorded", "detail": (error or "").strip()}
