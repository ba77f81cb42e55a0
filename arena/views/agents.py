"""Agents: their page (checkpoints, curves, runs, matches), creation and deletion."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import selectors
from arena.forms import AgentForm, RunForm
from arena.models import Agent
from arena.services.agents import agent_create as agent_create_service
from arena.services.agents import agent_delete as agent_delete_service


@require_GET
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent.objects.select_related("game", "owner"), pk=pk)
    checkpoints = list(agent.checkpoints.select_related("agent__game").order_by("seat", "-version")[:200])
    ratings = selectors.ratings_by_checkpoint(checkpoints) if checkpoints else {}
    elo = selectors.checkpoints_elo(checkpoints) if checkpoints else {}
    for checkpoint in checkpoints:
        checkpoint.rating, checkpoint.elo = ratings.get(checkpoint.pk), elo.get(checkpoint.pk)
    context = {
        "agent": agent,
        "is_owner": request.user.is_authenticated and agent.owner_id == request.user.pk,
        "checkpoints": checkpoints,
        "runs": agent.training_runs.all()[:20],
        "matches": selectors.matches_recent(agent=agent, limit=20),
        "run_form": RunForm(),
        "socket": f"/ws/agents/{agent.pk}/",
        "rating_chart": selectors.agent_rating_chart(agent),
    }
    return render(request, "arena/agents/detail.html", context)


@login_required
def agent_create(request: HttpRequest) -> HttpResponse:
    form = AgentForm(request.POST or None, initial={"game": request.GET.get("game")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agent = agent_create_service(
                owner=request.user,
                game=data["game"].name,
                name=data["name"],
                algorithm=data["algorithm"],
                seat=data["seat"],
                description=data["description"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Agent {agent.name} created. Train it below.")
            return redirect(agent)
    return render(request, "arena/agents/form.html", {"form": form})


@require_POST
@login_required
def agent_delete(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=pk)
    try:
        agent_delete_service(user=request.user, agent_id=agent.pk)  # PermissionDenied -> 403
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(agent)
    messages.success(request, f"Agent {agent.name} deleted.")
    return redirect("dashboard")
