"""The play page's win probability comes from a value that means an outcome: exact for tic-tac-toe,
a policy checkpoint's value network, DQN's Q-value (clipped), a search's root value or its proven
result; a heuristic score gives none."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from django.conf import settings

from arena.models import Checkpoint, Match
from arena.services.play import human_game_create, human_move
from marl.checkpoints import save_checkpoint
from marl.games import get_game
from marl.match import MatchState
from marl.nets import build_critic, build_network
from marl.winprob import tictactoe_exact
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"kind": "mlp", "hidden": [8]}


def _reply(user, game: str, opponent: str, moves: list[int]) -> dict:
    """The agent's analysis of its reply to the person's first move (the person opens)."""
    seat = get_game(game).seats[0]
    match = human_game_create(user=user, game=game, opponent=opponent, seat=seat, seed=1)
    events = human_move(match_id=match.pk, user=user, ply=0, move=moves[0])
    return events[-1]["analysis"]


def _ppo_with_critic(user) -> tuple[Checkpoint, torch.nn.Module]:
    """A connect four PPO checkpoint for the second seat whose training state holds its critic."""
    spec = get_game("connect_four")
    agent = AgentFactory(owner=user, game="connect_four", algorithm="ppo", network=SMALL, seat="player_1")
    torch.manual_seed(3)
    policy, critic = build_network(SMALL, spec.obs_shape, spec.n_actions), build_critic(SMALL, spec.obs_shape)
    meta = {"game": spec.name, "env_id": spec.env_id, "algorithm": "ppo", "network": SMALL}
    path = save_checkpoint(
        Path(settings.MEDIA_ROOT) / "agents" / str(agent.pk),
        "player_1-v1",
        weights=policy.state_dict(),
        state={f"critic.net.{k}": v for k, v in critic.state_dict().items()},
        meta={**meta, "agent_id": "player_1", "env_steps": 0},
    )
    row = Checkpoint.objects.create(
        agent=agent,
        seat="player_1",
        version=1,
        path=str(path.relative_to(settings.MEDIA_ROOT)),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    return row, critic


def test_tictactoe_charts_the_exact_value_whoever_the_agent_is(user):
    for opponent in ("bot:minimax", "bot:random", "bot:mcts:20"):
        analysis = _reply(user, "tictactoe", opponent, [{"row": 0, "col": 1}])
        # After an edge opening, perfect play from both sides draws: 0.5 for the agent to reply.
        assert analysis["win_probability"] == tictactoe_exact([3]).probability == 0.5, opponent
        assert analysis["win_source"] == "exact", opponent
        Match.objects.all().delete()  # room for the next game under the open-games limit


def test_a_heuristic_search_score_gives_no_probability(user):
    analysis = _reply(user, "connect_four", "bot:alphabeta:2", [3])
    assert analysis["kind"] == "search" and max(v for v in analysis["scores"] if v is not None) < 1000
    assert analysis["win_probability"] is None and "win_source" not in analysis


def test_a_rollout_search_charts_its_root_value(user):
    analysis = _reply(user, "connect_four", "bot:mcts:30", [3])
    assert analysis["win_source"] == "search"
    assert analysis["win_probability"] == pytest.approx((analysis["value"] + 1) / 2, abs=1e-4)


def test_a_dqn_checkpoint_charts_its_best_q_value_clipped(user):
    agent = AgentFactory(owner=user, game="connect_four", algorithm="dqn", network=SMALL, seat="player_1")
    checkpoint = CheckpointFactory(agent=agent, seat="player_1")
    analysis = _reply(user, "connect_four", f"checkpoint:{checkpoint.pk}", [3])
    best = max(v for v in analysis["scores"] if v is not None)
    assert analysis["kind"] == "q" and analysis["win_source"] == "q"
    assert analysis["win_probability"] == pytest.approx(min(1, max(0, (best + 1) / 2)), abs=1e-3)


def test_a_policy_checkpoint_charts_its_critics_value_not_its_move_probabilities(user):
    checkpoint, critic = _ppo_with_critic(user)
    analysis = _reply(user, "connect_four", f"checkpoint:{checkpoint.pk}", [3])
    state = MatchState("connect_four", seed=1, moves=[3])
    obs, _ = state.observation()
    value = float(critic(torch.as_tensor(obs[None], dtype=torch.float32))[0, 0])
    assert analysis["kind"] == "logits" and analysis["win_source"] == "value"
    assert analysis["win_probability"] == pytest.approx((max(-1, min(1, value)) + 1) / 2, abs=1e-4)


def test_a_policy_checkpoint_without_a_critic_gives_no_probability(user):
    agent = AgentFactory(owner=user, game="connect_four", algorithm="ppo", network=SMALL, seat="player_1")
    checkpoint = CheckpointFactory(agent=agent, seat="player_1")  # weights only, no training state
    analysis = _reply(user, "connect_four", f"checkpoint:{checkpoint.pk}", [3])
    assert analysis["kind"] == "logits" and analysis["win_probability"] is None
