"""Agents: their page (checkpoints, curves, runs, matches), creation, deletion, checkpoint files."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import selectors
from arena.forms import AgentForm, RunForm
from arena.models import Agent, Checkpoint
from arena.services.agents import agent_create as agent_create_service
from arena.services.agents import agent_delete as agent_delete_service
from arena.services.checkpoints import checkpoint_import


@require_GET
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent.objects.select_related("game", "owner"), pk=pk)
    checkpoints = list(agent.checkpoints.select_related("agent__game").order_by("seat", "-version")[:200])
    ratings = selectors.ratings_by_checkpoint(checkpoints) if checkpoints else {}
    for checkpoint in checkpoints:
        checkpoint.rating = ratings.get(checkpoint.pk)
    context = {
        "agent": agent,
        "is_owner": request.user.is_authenticated and agent.owner_id == request.user.pk,
        "checkpoints": checkpoints,
        "runs": agent.training_runs.all()[:20],
        "matches": selectors.matches_recent(agent=agent, limit=20),
        "run_form": RunForm(),
        "socket": f"/ws/agents/{agent.pk}/",
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


@require_POST
@login_required
def checkpoint_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Import a checkpoint from the agent page; every check is the import service's."""
    agent = get_object_or_404(Agent, pk=pk)
    limit = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:  # before anything parses (or spools) it
        messages.error(request, f"upload over {limit} bytes")
        return redirect(agent)
    weights, sidecar = request.FILES.get("weights"), request.FILES.get("sidecar")
    if weights is None or sidecar is None:
        messages.error(request, "choose the weights (.safetensors) and the sidecar (.json)")
        return redirect(agent)
    try:
        checkpoint = checkpoint_import(  # PermissionDenied -> 403
            user=request.user,
            agent_id=agent.pk,
            weights=weights,
            sidecar=sidecar,
            state=request.FILES.get("state"),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Imported {checkpoint}.")
    return redirect(agent)


@require_GET
def checkpoint_download(request: HttpRequest, pk: int, part: str) -> FileResponse:
    """The weights (.safetensors) or the JSON sidecar, named after the agent, seat and version."""
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("agent"), pk=pk)
    root = Path(settings.MEDIA_ROOT).resolve()
    weights = (root / checkpoint.path).resolve()
    path = weights if part == "weights" else weights.with_suffix(".json")
    # The row's path is relative to MEDIA_ROOT; refuse anything that would step outside it.
    if root not in path.parents or not path.is_file():
        raise Http404("checkpoint file not found")
    name = f"{checkpoint.agent.name}-{checkpoint.seat}-v{checkpoint.version}{path.suffix}"
    content_type = "application/json" if part == "sidecar" else "application/octet-stream"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=content_type)
