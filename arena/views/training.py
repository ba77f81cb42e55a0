"""Training runs: their page, starting one from the agent page, cancelling one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import listings, selectors
from arena.forms import RunForm
from arena.models import Agent, TrainingRun
from arena.services.training import training_run_cancel, training_run_create


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun.objects.select_related("agent__game", "agent__owner"), pk=pk)
    context = {
        "run": run,
        "is_owner": request.user.is_authenticated and run.agent.owner_id == request.user.pk,
        "checkpoints": selectors.run_checkpoints(run),
        "socket": f"/ws/runs/{run.pk}/",
    }
    return render(request, "arena/training/detail.html", context)


@require_POST
@login_required
def run_create(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=pk)
    if agent.owner_id != request.user.pk:  # before the form, so strangers learn nothing from errors
        raise PermissionDenied("only the agent's owner may train it")
    form = RunForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect(agent)
    try:
        run = training_run_create(user=request.user, agent_id=agent.pk, config=form.config())
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(agent)
    messages.success(request, f"Run {run.pk} queued.")
    return redirect(run)


@require_POST
@login_required
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun, pk=pk)
    try:
        training_run_cancel(user=request.user, run_id=run.pk)  # PermissionDenied -> 403
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Run {run.pk}: cancel requested.")
    return redirect(run)


@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    runs = listings.listing(request, listings.runs_listed)
    return render(request, "arena/training/list.html", {"listing": runs, "runs": runs.page.object_list})
