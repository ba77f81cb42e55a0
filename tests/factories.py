"""Test data, built through the real services and real checkpoint files (marl writes them), so a test
starts from rows and files the app itself could have made.

Factories for rows (`UserFactory`, `AgentFactory`, `CheckpointFactory`, `TrainingRunFactory`,
`MatchFactory`, `LeagueFactory`) and builders for what a person uploads (`checkpoint_files`,
`checkpoint_uploaded`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import factory
import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory

from arena.models import (
    Agent,
    Checkpoint,
    Game,
    League,
    LeagueGate,
    LeagueMember,
    Match,
    MatchSeat,
    Player,
    TrainingRun,
)
from arena.services.games import game_get
from arena.services.players import player_for_bot, player_from_spec

PASSWORD = "correct horse battery staple"
# Small enough that a training test takes seconds; the app's default network is larger.
SMALL_NETWORK = {"kind": "mlp", "hidden": [16]}
BOTS = {"player_1": "bot:minimax", "player_2": "bot:random"}
# A training run of seconds: three epochs of 200 steps, a short evaluation.
TINY_TRAINING = {"env_steps": 600, "steps_per_epoch": 200, "num_envs": 2, "eval_games": 4, "seed": 1}
# League ticks that train in seconds: few envs, small batches and buffer.
TINY_LEAGUE_TRAINING = {"num_envs": 2, "batch_size": 16, "step_per_collect": 16, "buffer_size": 500}


class UserFactory(DjangoModelFactory):
    class Meta:
        model = settings.AUTH_USER_MODEL
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class AgentFactory(DjangoModelFactory):
    """An agent made by `agent_create`, so the service's checks and defaults apply."""

    class Meta:
        model = Agent

    owner = factory.SubFactory(UserFactory)
    game = "tictactoe"
    name = factory.Sequence(lambda n: f"agent-{n}")
    algorithm = "dqn"
    network = factory.LazyFunction(lambda: dict(SMALL_NETWORK))
    seat = ""

    @classmethod
    def _create(cls, model_class: type[Agent], *args: Any, **kwargs: Any) -> Agent:
        from arena.services.agents import agent_create

        return agent_create(**kwargs)


def _untrained_checkpoint_file(agent: Agent, seat: str, version: int, seed: int, env_steps: int) -> Path:
    """Weights of a freshly initialised network, saved by marl under MEDIA_ROOT; a match can load them."""
    import torch

    from marl.checkpoints import save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    spec = get_game(agent.game.name)
    torch.manual_seed(seed)
    net = build_network(agent.network, spec.obs_shape, spec.n_actions)
    meta = {
        "game": spec.name,
        "env_id": spec.env_id,
        "algorithm": agent.algorithm,
        "network": agent.network,
        "agent_id": seat,
        "env_steps": env_steps,
    }
    directory = Path(settings.MEDIA_ROOT) / "agents" / str(agent.pk)
    return save_checkpoint(directory, f"{seat}-v{version}", weights=net.state_dict(), state=None, meta=meta)


class CheckpointFactory(DjangoModelFactory):
    """A checkpoint of untrained weights with its real files: in milliseconds, loadable, playable."""

    class Meta:
        model = Checkpoint

    agent = factory.SubFactory(AgentFactory)
    seat = factory.LazyAttribute(lambda o: o.agent.seat or o.agent.game.seats[0])
    version = 1
    env_steps = 0
    seed = 0  # of the weights' initialisation: different seeds, different players
    metrics = factory.LazyFunction(dict)
    training_run = None

    @classmethod
    def _create(cls, model_class: type[Checkpoint], *args: Any, seed: int, **kwargs: Any) -> Checkpoint:
        path = _untrained_checkpoint_file(
            kwargs["agent"], kwargs["seat"], kwargs["version"], seed, kwargs["env_steps"]
        )
        kwargs["path"] = str(path.relative_to(settings.MEDIA_ROOT))
        kwargs["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        return super()._create(model_class, *args, **kwargs)


def checkpoint_specs(owner, count: int, game: str = "tictactoe") -> list[str]:
    """`checkpoint:<id>` participant specs of `count` versions of one new agent, each with a checkpoint
    for every seat (an entrant plays both seats)."""
    agent = AgentFactory(owner=owner, game=game)
    specs = []
    for v in range(1, count + 1):
        checkpoints = [
            CheckpointFactory(agent=agent, seat=s, version=v, seed=10 * v + i)
            for i, s in enumerate(agent.game.seats)
        ]
        specs.append(f"checkpoint:{checkpoints[0].pk}")
    return specs


class TrainingRunFactory(DjangoModelFactory):
    """A run row as the training service leaves it when queued; nothing is dispatched."""

    class Meta:
        model = TrainingRun

    agent = factory.SubFactory(AgentFactory)
    env_steps_total = 1000
    config = factory.LazyAttribute(lambda o: {"env_steps": o.env_steps_total})


class MatchFactory(DjangoModelFactory):
    """A match made by `match_create`, not dispatched: a test plays it (`match_play`) or a worker does."""

    class Meta:
        model = Match

    user = None
    game = "tictactoe"
    seats = factory.LazyFunction(lambda: dict(BOTS))
    seed = 1

    @classmethod
    def _create(cls, model_class: type[Match], *args: Any, **kwargs: Any) -> Match:
        from arena.services.matches import match_create

        return match_create(dispatch=False, **kwargs)


def match_finished(**kwargs: Any) -> Match:
    """A match played to its end in this process."""
    from arena.services.matches import match_play

    match = MatchFactory(**kwargs)
    match_play(match_id=match.pk)
    match.refresh_from_db()
    assert match.status == Match.FINISHED, match.error
    return match


class LeagueFactory(DjangoModelFactory):
    """A league made by `league_create` with one member learning player_1, and ticks that train fast."""

    class Meta:
        model = League

    user = factory.SubFactory(UserFactory)
    game = "tictactoe"
    name = factory.Sequence(lambda n: f"league-{n}")
    env_steps_per_tick = 64
    eval_games = 4
    train_overrides = factory.LazyFunction(lambda: dict(TINY_LEAGUE_TRAINING))

    @classmethod
    def _create(cls, model_class: type[League], *args: Any, **kwargs: Any) -> League:
        from arena.services.leagues import league_create

        if "members" not in kwargs:
            kwargs["members"] = [AgentFactory(owner=kwargs["user"], game=kwargs["game"], seat="player_1").pk]
        return league_create(**kwargs)


def checkpoint_files(
    directory: Path,
    *,
    game: str = "tictactoe",
    network: dict | None = None,
    seat: str = "player_1",
    state: bool = False,
) -> tuple[bytes, dict, bytes | None]:
    """A genuine checkpoint written by marl, as a person would upload it: (weights, sidecar, state)."""
    import torch

    from marl.checkpoints import save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    network = network or SMALL_NETWORK
    spec = get_game(game)
    torch.manual_seed(0)
    net = build_network(network, spec.obs_shape, spec.n_actions)
    meta = {
        "game": game,
        "env_id": spec.env_id,
        "algorithm": "dqn",
        "network": network,
        "agent_id": seat,
        "env_steps": 1000,
    }
    state_dict = {"model": net.state_dict(), "step": 3} if state else None
    path = save_checkpoint(directory / "src", "cp", weights=net.state_dict(), state=state_dict, meta=meta)
    return (
        path.read_bytes(),
        json.loads(path.with_name("cp.json").read_text()),
        path.with_name("cp.state.safetensors").read_bytes() if state else None,
    )


def checkpoint_uploaded(
    user, agent: Agent, weights: bytes, sidecar: dict | bytes, state: bytes | None = None
) -> Checkpoint:
    """Import the files through `checkpoint_import`, as the agent page and the API do."""
    from arena.services.checkpoints import checkpoint_import

    raw = sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode()
    return checkpoint_import(
        user=user,
        agent_id=agent.pk,
        weights=SimpleUploadedFile("w.safetensors", weights),
        sidecar=SimpleUploadedFile("w.json", raw),
        state=SimpleUploadedFile("w.state.safetensors", state) if state is not None else None,
    )


# ---------------------------------------------------------------- rated pools and SPRT gates

TRUE_ELO = {"random": 0.0, "a": 250.0, "b": 450.0}
TRUE_SEAT_ADVANTAGE = 120.0
TRUE_DRAW_ELO = 100.0


def _outcome(rng: np.random.Generator, diff: float) -> float:
    """The first seat's score under the fitted model (`marl.elo_fit`) with the true parameters."""
    f = lambda x: 1.0 / (1.0 + 10 ** (-x / 400.0))  # noqa: E731
    win = f(diff + TRUE_SEAT_ADVANTAGE - TRUE_DRAW_ELO)
    loss = f(-diff - TRUE_SEAT_ADVANTAGE - TRUE_DRAW_ELO)
    u = rng.random()
    return 1.0 if u < win else 0.0 if u < win + loss else 0.5


def synthetic_rated_pool(user, games: int, seed: int = 7) -> dict[str, Player]:
    """Rated finished tic-tac-toe matches between the random bot and two checkpoints of known strength."""
    game = game_get("tictactoe")
    specs = checkpoint_specs(user, 2)
    players = {
        "random": player_for_bot(game=game, bot="random"),
        "a": player_from_spec(game=game, spec=specs[0]),
        "b": player_from_spec(game=game, spec=specs[1]),
    }
    rng = np.random.default_rng(seed)
    names = list(players)
    plans = []
    for _ in range(games):
        first, second = rng.choice(names, size=2, replace=False)
        plans.append((first, second, _outcome(rng, TRUE_ELO[first] - TRUE_ELO[second])))
    store_rated_games(game, players, plans)
    return players


def store_rated_games(game: Game, players: dict[str, Player], plans: list[tuple[str, str, float]]) -> None:
    matches = Match.objects.bulk_create(
        [Match(game=game, status=Match.FINISHED, rated=True, seed=i) for i in range(len(plans))]
    )
    one, two = game.seats
    seats = []
    for match, (first, second, score) in zip(matches, plans, strict=True):
        back = {1.0: -1.0, 0.0: 1.0, 0.5: 0.0}[score]
        seats += [
            MatchSeat(match=match, seat=one, player=players[first], score=-back),
            MatchSeat(match=match, seat=two, player=players[second], score=back),
        ]
    MatchSeat.objects.bulk_create(seats)


def bots_in_both_seats(name: str) -> dict[str, int]:
    player = player_for_bot(game=Game.objects.get(name="tictactoe"), bot=name)
    return {"player_1": player.pk, "player_2": player.pk}


def bot_gate(member: LeagueMember, challenger: str, champion: str) -> LeagueGate:
    """A test of one bot against another as the member's champion (bots: very different strengths)."""
    member.champions = bots_in_both_seats(champion)
    member.save(update_fields=["champions"])
    league = member.league
    state = {"elo0": 0.0, "elo1": 10.0, "alpha": 0.05, "beta": 0.05, "model": "logistic", "counts": [0] * 5}
    return LeagueGate.objects.create(
        league=league,
        member=member,
        tick=1,
        challenger=bots_in_both_seats(challenger),
        champion=member.champions,
        state=state,
    )


def cyclic_rated_pool(user, rounds: int = 10) -> dict[str, Player]:
    """Three checkpoints in a cycle (a beats b beats c beats a, 8 games of 10 each way) that all beat the
    random bot 9 of 10: one Elo cannot order them, α-Rank spreads its mass over the cycle."""
    game = game_get("tictactoe")
    specs = checkpoint_specs(user, 3)
    players = {"random": player_for_bot(game=game, bot="random")}
    players.update({name: player_from_spec(game=game, spec=s) for name, s in zip("abc", specs, strict=True)})
    plans = []
    for winner, loser, wins in (
        ("a", "b", 8),
        ("b", "c", 8),
        ("c", "a", 8),
        *((p, "random", 9) for p in "abc"),
    ):
        for i in range(rounds):
            outcome = 1.0 if i < wins * rounds // 10 else 0.0
            plans.append((winner, loser, outcome) if i % 2 else (loser, winner, 1.0 - outcome))
    store_rated_games(game, players, plans)
    return players
