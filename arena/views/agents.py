"""Agents: their page (checkpoints, curves, runs, matches), creation and deletion."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from arena import listings, selectors
from arena.forms import AgentForm, RunForm, seat_label
from arena.models import Agent, Checkpoint
from arena.selectors.failures import agent_failures
from arena.services.agents import agent_create as agent_create_service
from arena.services.agents import agent_delete as agent_delete_service
from arena.services.calibration import calibration_json, calibration_text
from arena.services.exploitability import exploitability_points, exploitability_summary
from arena.services.strength import strength_points, strength_summary
from marl.games import get_game


@require_GET
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent.objects.select_related("game", "owner"), pk=pk)
    checkpoints = list(agent.checkpoints.select_related("agent__game").order_by("seat", "-version")[:200])
    ratings = selectors.ratings_by_checkpoint(checkpoints) if checkpoints else {}
    elo = selectors.checkpoints_elo(checkpoints) if checkpoints else {}
    for checkpoint in checkpoints:
        checkpoint.rating, checkpoint.elo = ratings.get(checkpoint.pk), elo.get(checkpoint.pk)
        checkpoint.calibration_line = calibration_text(calibration_json(checkpoint))
        checkpoint.strength_line = strength_summary(checkpoint.strength)
        checkpoint.exploitability_line = exploitability_summary(checkpoint.exploitability)
        checkpoint.opponent_seat = next((s for s in agent.game.seats if s != checkpoint.seat), "")
        checkpoint.seat_label = seat_label(agent.game, checkpoint.seat)
    context = {
        "agent": agent,
        # An archived agent is read-only, for its owner too: no training, import or deletion.
        "is_owner": request.user.is_authenticated
        and agent.owner_id == request.user.pk
        and not agent.archived_at,
        "checkpoints": checkpoints,
        "learning_seats": [seat_label(agent.game, s) for s in agent.learning_seats],
        "runs": agent.training_runs.all()[:20],
        "matches": selectors.matches_recent(agent=agent, limit=20),
        "failures": agent_failures(agent=agent),
        "run_form": RunForm(),
        "socket": f"/ws/agents/{agent.pk}/",
        "version_curves": version_curves(checkpoints),
        # Games whose registry entry has an exact measure (Leduc) get its column and chart.
        "has_exploitability": get_game(agent.game.name).exploitability is not None,
        "rating_chart": selectors.agent_rating_chart(agent),
    }
    return render(request, "arena/agents/detail.html", context)


def version_curves(checkpoints: list[Checkpoint]) -> dict[str, dict[str, list[list[float]]]]:
    """Chart series over the agent's versions: calibrated Elo, strength against perfect play (the
    mistake share and loss rate per seat) or against each alpha-beta depth, and exact exploitability
    with its references (the uniform random policy's, the CFR+ anchor's)."""
    elo: dict[str, list[list[float]]] = {}
    strength: dict[str, list[list[float]]] = {}
    exploitability: dict[str, list[list[float]]] = {}
    for checkpoint in sorted(checkpoints, key=lambda c: (c.version, c.seat)):
        if checkpoint.calibration_elo is not None and checkpoint.seat == checkpoint.agent.game.seats[0]:
            elo.setdefault("Elo", []).append([checkpoint.version, round(checkpoint.calibration_elo, 1)])
        for name, value in strength_points(checkpoint):
            strength.setdefault(name, []).append([checkpoint.version, value])
        for name, value in exploitability_points(checkpoint):
            exploitability.setdefault(name, []).append([checkpoint.version, value])
    return {"elo": elo, "strength": strength, "exploitability": exploitability}


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
        outcome = agent_delete_service(user=request.user, agent_id=agent.pk)  # PermissionDenied -> 403
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(agent)
    if outcome == "archived":
        messages.success(request, f"Agent {agent.name} archived: the games it played keep their history.")
    else:
        messages.success(request, f"Agent {agent.name} deleted.")
    return redirect("dashboard")


@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    found = listings.listing(request, listings.agents_listed)
    agents = selectors.agents_overview(list(found.page.object_list))  # each with its latest checkpoints
    return render(request, "arena/agents/list.html", {"listing": found, "agents": agents})
