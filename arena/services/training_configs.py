"""Training configs: what a user may set for a run, checked and completed from the agent's spec, and
the opponent pool's members resolved to what `marl` takes.

`marl.train_config` loads torch, so it is imported inside the function that needs it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Agent, Checkpoint
from marl.errors import MarlError

# Keys a user may set; the agent decides game, algorithm, network and learning seats.
USER_KEYS_FORBIDDEN = {"game", "algorithm", "network", "learn_seats"}
POOL_MEMBER = re.compile(r"(bot|checkpoint):([a-z0-9_:]{1,40})")
MAX_POOL = 64


def training_config_build(*, agent: Agent, config: dict[str, Any]) -> dict[str, Any]:
    """The full marl config for a run of `agent`: the user's settings on top of the agent's spec.

    Validates through `marl.train.TrainConfig` so a bad config is refused before anything is queued.
    """
    from marl.train_config import TrainConfig  # lazy: torch

    _check_user_config(config)
    if agent.algorithm in Agent.SELF_PLAY_ONLY:
        config = {"opponent": "self", **config}  # the only opponent such an agent learns against
    full = {
        **config,
        "game": agent.game.name,
        "algorithm": agent.algorithm,
        "network": agent.network,
        "learn_seats": agent.learning_seats,
    }
    resolved, paths = training_pool_resolve(config=full)
    try:
        parsed = TrainConfig.from_dict(resolved)
    except MarlError as exc:
        message = str(exc)
        for path, spec in paths.items():  # errors name the pool member as the user wrote it
            message = message.replace(path, spec)
        raise ValidationError(message[:500]) from None
    if parsed.env_steps > settings.ARENA_MAX_TRAIN_STEPS:
        raise ValidationError(f"env_steps may be at most {settings.ARENA_MAX_TRAIN_STEPS}")
    return {**parsed.to_dict(), "pool": list(full.get("pool") or [])}


def training_pool_resolve(*, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """`config` with its pool's members (`bot:<name>`, `checkpoint:<id>`) as marl takes them (a bot
    name, a checkpoint's file), and a map from each file back to its member's spec.

    Stored configs, pages and the API only ever carry the specs: no server path leaves the server,
    and a path sent in a pool is refused without a word about what is on the disk.
    """
    pool = config.get("pool")
    if not pool:
        return config, {}
    if not isinstance(pool, list) or len(pool) > MAX_POOL:
        raise ValidationError(f"pool must be a list of at most {MAX_POOL} members")
    resolved, paths = [], {}
    for spec in pool:
        found = POOL_MEMBER.fullmatch(spec) if isinstance(spec, str) else None
        if found is None:
            raise ValidationError("pool members are written bot:<name> or checkpoint:<id>")
        kind, value = found.groups()
        if kind == "bot":
            resolved.append(value)
            continue
        checkpoint = Checkpoint.objects.filter(pk=int(value), agent__game__name=config["game"]).first()
        if checkpoint is None:
            raise ValidationError(f"pool member {spec}: no {config['game']} checkpoint has that id")
        path = str(checkpoint.absolute_path())
        resolved.append(path)
        paths[path] = spec
    return {**config, "pool": resolved}, paths


def _check_user_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise ValidationError("config must be a JSON object")
    forbidden = USER_KEYS_FORBIDDEN & set(config)
    if forbidden:
        raise ValidationError(f"{', '.join(sorted(forbidden))} come from the agent and cannot be set per run")
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{key} must be a finite number")
