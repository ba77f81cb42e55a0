"""``TrainConfig``: a training run's settings, validated field by field (no Tianshou import here).

``marl.train`` re-exports it; it lives apart so the web process can validate configs without paying
for Tianshou.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from marl.errors import ConfigError, MarlError
from marl.nets import DEFAULT_NETWORK, validate_network_spec

ALGORITHMS = ("dqn", "ppo", "az", "mccfr")
SELF_PLAY_ONLY = ("az", "mccfr")  # algorithms whose one policy learns every seat against itself
SELF = "self"  # the opponent of pure self-play: the learner itself, never a bot


@dataclass
class TrainConfig:
    """Everything a training run needs. ``from_dict`` rejects unknown keys and bad values.

    ``learn_seats``: the seats that learn (default: the first seat; ``"both"`` for all). The other
    seats play ``opponent``: ``"random"``, a bot name (``"minimax"``, ``"alphabeta:2"``) or
    ``"pool"``, whose members (checkpoint paths or bot names) are sampled with ``pool_weights`` (PFSP)
    before every collect step. When every seat learns, ``opponent`` is only the evaluation opponent.
    ``opponent: "self"`` is pure self-play: every seat learns and no bot plays in training (the
    greedy policy is evaluated against ``random``). Algorithm ``"az"`` (expert iteration with PUCT
    search, ``marl.az``) is always self-play, with one network serving every seat; so is ``"mccfr"``
    (Monte Carlo CFR, ``marl.regret``: a table over the information states of a poker game, network
    ``{"kind": "table"}``, filled in when left out).
    """

    game: str = "tictactoe"
    algorithm: str = "dqn"
    network: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_NETWORK))
    lr: float = 1e-3
    gamma: float = 0.9
    env_steps: int = 20_000
    steps_per_epoch: int = 2_000
    num_envs: int = 8
    seed: int = 0
    learn_seats: list[str] | str | None = None
    opponent: str = "random"
    pool: list[str] = field(default_factory=list)
    pool_weights: list[float] | None = None
    eval_games: int = 50
    device: str | None = None  # None: CUDA when available, else CPU
    # Step training envs with the game's fast core (identical values, see marl._fast_env); None: on
    # for games with a core (tic-tac-toe, connect four), off otherwise. Evaluation stays on PettingZoo.
    fast_env: bool | None = None
    # DQN
    batch_size: int = 64
    buffer_size: int = 20_000
    n_step: int = 2  # must be a multiple of the seat count (Tianshou MARL defect 2, see _tianshou.py)
    eps_train: float = 0.3
    eps_train_final: float = 0.05
    eps_decay_steps: int | None = None  # None: decay over the first half of env_steps
    eps_test: float = 0.0
    target_update_freq: int = 200
    step_per_collect: int = 64
    update_per_step: float = 0.25
    # PPO (batch_size is its minibatch size)
    episode_per_collect: int = 32
    repeat_per_collect: int = 4
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    gae_lambda: float = 0.95
    eps_clip: float = 0.2
    max_grad_norm: float | None = 0.5
    # AZ (steps_per_epoch: self-play moves per iteration; buffer_size: the replay window in positions;
    # repeat_per_collect: passes over each iteration's new positions)
    simulations: int = 50  # PUCT simulations per self-play move
    temperature_moves: int = 4  # opening moves sampled from the visit shares, then the most visited
    dirichlet_alpha: float = 0.5  # root noise, mixed in with weight dirichlet_frac
    dirichlet_frac: float = 0.25
    # A mover's chance, each self-play move, of a uniformly random legal move instead of the searched
    # one (its position still learns the search's visit shares): the outcomes then come from games
    # against a fallible opponent, so the value head learns which safe lines give it most chances to err.
    random_move_frac: float = 0.0

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Build from plain JSON values; unknown keys and bad values raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"a training config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training config keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        self._validate()

    # -------------------------------------------------------------------------------------- helpers
    @staticmethod
    def is_bot_name(game: str, name: str) -> bool:
        from marl.bots import make_bot

        try:
            make_bot(game, name)
        except MarlError:
            return False
        return True

    @staticmethod
    def is_training_bot(game: str, name: str) -> bool:
        """Whether a bot can be a frozen training opponent: training acts on observations in batches,
        so a bot that reads the move history (an engine, Leduc's CFR+ policy) can only evaluate."""
        from marl.agents import needs_moves
        from marl.bots import make_bot

        return not needs_moves(make_bot(game, name))

    def epsilon_at(self, env_steps: int) -> float:
        """DQN exploration rate at a global env step: linear from eps_train to eps_train_final."""
        horizon = self.eps_decay_steps if self.eps_decay_steps is not None else max(1, self.env_steps // 2)
        frac = min(1.0, env_steps / max(1, horizon))
        return self.eps_train + frac * (self.eps_train_final - self.eps_train)

    # ----------------------------------------------------------------------------------- validation
    def _validate(self) -> None:
        from marl.games import get_game

        try:
            spec = get_game(self.game)
        except MarlError as exc:
            raise ConfigError(str(exc)) from None
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm must be one of {list(ALGORITHMS)}, got {self.algorithm!r}")
        if self.algorithm == "mccfr":
            from marl.regret import check_table_spec

            self.network = check_table_spec(self.game, self.network)
        else:
            self.network = validate_network_spec(self.network)
        self._validate_bounds()
        if self.device is not None and not (
            isinstance(self.device, str)
            and (self.device in ("cpu", "cuda") or self.device.startswith("cuda:"))
        ):
            raise ConfigError(f"device must be null, 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

        self._validate_fast_env()
        seats = list(spec.seats)
        self.learn_seats = self._learning_seats(seats)

        if self.algorithm == "dqn":
            if self.n_step % len(seats):
                raise ConfigError(
                    f"n_step must be a multiple of {len(seats)} (the seats of {self.game}) so that DQN's "
                    f"return includes the opponents' replies and bootstraps from its own turn; got {self.n_step}"
                )
            collected = math.ceil(self.step_per_collect / self.num_envs) * self.num_envs
            if round(self.update_per_step * collected) < 1:
                raise ConfigError(
                    f"update_per_step {self.update_per_step} x {collected} steps per collect rounds to 0 "
                    "gradient steps; raise update_per_step or step_per_collect"
                )
        elif self.algorithm == "ppo" and self.episode_per_collect < self.num_envs:
            raise ConfigError(
                f"episode_per_collect ({self.episode_per_collect}) must be at least num_envs ({self.num_envs})"
            )
        self._validate_opponents(len(self.learn_seats) == len(seats))

    def _validate_bounds(self) -> None:
        """Every numeric setting within its range (whole numbers where a count is meant)."""
        _num(self, "lr", 1e-8, 1.0)
        _num(self, "gamma", 0.0, 1.0)
        _int(self, "env_steps", 1, 10**10)
        _int(self, "steps_per_epoch", 1, 10**9)
        _int(self, "num_envs", 1, 256)
        _int(self, "seed", 0, 2**32 - 1)
        _int(self, "eval_games", 0, 10_000)
        _int(self, "batch_size", 1, 65_536)
        _int(self, "buffer_size", 1, 10**7)
        _int(self, "n_step", 1, 32)
        for name in ("eps_train", "eps_train_final", "eps_test"):
            _num(self, name, 0.0, 1.0)
        if self.eps_decay_steps is not None:
            _int(self, "eps_decay_steps", 1, 10**10)
        _int(self, "target_update_freq", 0, 10**7)
        _int(self, "step_per_collect", 1, 10**6)
        _num(self, "update_per_step", 1e-6, 64.0)
        _int(self, "episode_per_collect", 1, 100_000)
        _int(self, "repeat_per_collect", 1, 1_000)
        _num(self, "ent_coef", 0.0, 10.0)
        _num(self, "vf_coef", 0.0, 100.0)
        _num(self, "gae_lambda", 0.0, 1.0)
        _num(self, "eps_clip", 1e-6, 10.0)
        if self.max_grad_norm is not None:
            _num(self, "max_grad_norm", 1e-6, 1e6)
        _int(self, "simulations", 1, 100_000)
        _int(self, "temperature_moves", 0, 1_000)
        _num(self, "dirichlet_alpha", 1e-3, 100.0)
        _num(self, "dirichlet_frac", 0.0, 1.0)
        _num(self, "random_move_frac", 0.0, 1.0)

    def _validate_fast_env(self) -> None:
        """Resolve ``fast_env`` to a bool (so the checkpoint's config records what ran)."""
        from marl.fastgames import FAST_GAMES

        if self.fast_env is None:
            self.fast_env = self.game in FAST_GAMES
        elif not isinstance(self.fast_env, bool):
            raise ConfigError(f"fast_env must be true, false or null, got {self.fast_env!r}")
        elif self.fast_env and self.game not in FAST_GAMES:
            raise ConfigError(f"fast_env: {self.game} has no fast core; those that do: {sorted(FAST_GAMES)}")

    def _learning_seats(self, seats: list[str]) -> list[str]:
        """``learn_seats`` normalized to a list in turn order; self-play (and az) means every seat."""
        learn = self.learn_seats
        if self.algorithm in SELF_PLAY_ONLY and self.opponent != SELF:
            raise ConfigError(f"algorithm {self.algorithm!r} learns by self-play only: set opponent {SELF!r}")
        if self.opponent == SELF:
            listed = [learn] if isinstance(learn, str) else learn
            if learn not in (None, "both", "all") and sorted(listed) != sorted(seats):
                raise ConfigError(f"opponent {SELF!r} means every seat learns; learn_seats must be 'both'")
            learn = list(seats)
        if learn is None:
            learn = [seats[0]]
        elif learn in ("both", "all"):
            learn = list(seats)
        elif isinstance(learn, str):
            learn = [learn]
        if not isinstance(learn, list | tuple) or not learn or len(set(learn)) != len(learn):
            raise ConfigError(f"learn_seats must be a non-empty list of distinct seats of {seats}, or 'both'")
        bad = [s for s in learn if s not in seats]
        if bad:
            raise ConfigError(f"learn_seats {bad} are not seats of {self.game}; its seats are {seats}")
        return [s for s in seats if s in learn]  # turn order

    def _validate_opponents(self, all_learn: bool) -> None:
        if not isinstance(self.opponent, str):
            raise ConfigError(f"opponent must be a string, got {self.opponent!r}")
        if not isinstance(self.pool, list) or not all(isinstance(p, str) and p for p in self.pool):
            raise ConfigError("pool must be a list of checkpoint paths or bot names")
        if self.opponent == SELF:
            if self.pool or self.pool_weights is not None:
                raise ConfigError(f"opponent {SELF!r} plays no pool; leave pool and pool_weights empty")
            return
        if self.opponent == "pool":
            if all_learn:
                raise ConfigError("opponent 'pool' needs a seat that does not learn")
            if not self.pool:
                raise ConfigError("opponent 'pool' needs a non-empty pool")
            for member in self.pool:
                if not self.is_bot_name(self.game, member):
                    self._check_pool_checkpoint(member)
                else:
                    self._check_training_bot(member)
        elif not self.is_bot_name(self.game, self.opponent):
            raise ConfigError(
                f"opponent {self.opponent!r} is neither 'pool' nor a bot available for {self.game}"
            )
        elif not all_learn:
            self._check_training_bot(self.opponent)
        if self.opponent != "pool" and self.pool:
            raise ConfigError("pool is set but opponent is not 'pool'")
        if self.pool_weights is not None:
            if self.opponent != "pool" or not isinstance(self.pool_weights, list):
                raise ConfigError("pool_weights needs opponent 'pool' and must be a list")
            if len(self.pool_weights) != len(self.pool):
                raise ConfigError(
                    f"pool_weights has {len(self.pool_weights)} entries, pool has {len(self.pool)}"
                )
            for i, w in enumerate(self.pool_weights):
                _check_float(f"pool_weights[{i}]", w, 0.0, 1e9)
            if sum(self.pool_weights) <= 0:
                raise ConfigError("pool_weights must not all be zero")

    def _check_training_bot(self, name: str) -> None:
        if not self.is_training_bot(self.game, name):
            raise ConfigError(
                f"bot {name!r} reads the move history, which training's batched opponents do not have: "
                "it can be an evaluation opponent (learn every seat) but not a training opponent"
            )

    def _check_pool_checkpoint(self, member: str) -> None:
        from marl.checkpoints import read_meta

        if not Path(member).with_suffix(".json").exists() and not Path(member).exists():
            raise ConfigError(
                f"pool member {member!r} is neither a bot for {self.game} nor an existing checkpoint"
            )
        try:
            meta = read_meta(member)
        except MarlError as exc:
            raise ConfigError(f"pool member {member!r}: {exc}") from None
        if meta["game"] != self.game:
            raise ConfigError(f"pool member {member!r} is a {meta['game']} checkpoint, not {self.game}")


@dataclass
class TrainResult:
    """What a run produced: the latest checkpoint per learning seat and the per-epoch progress."""

    config: TrainConfig
    env_steps: int
    epochs: int
    stopped: bool  # True when should_stop() ended the run early
    checkpoints: dict[str, Path] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def final(self) -> dict[str, Any] | None:
        return self.history[-1] if self.history else None

    def shared_epoch(
        self,
        path: Path,
        meta: dict[str, Any],
        on_checkpoint: Callable[[str, Path, dict[str, Any]], None] | None,
        **progress: Any,
    ) -> dict[str, Any]:
        """Record an epoch's one checkpoint for every seat (a self-play policy: az's network, mccfr's
        table), reported once per seat, and return the epoch's progress: ``progress`` gives epoch,
        epochs, env_steps, episodes, seats (per-seat evaluation), losses, moves and elapsed seconds."""
        per_seat = progress["seats"]
        for seat in per_seat:
            self.checkpoints[seat] = path
            if on_checkpoint is not None:
                on_checkpoint(seat, path, meta)
        moves, elapsed = progress.pop("moves"), progress.pop("elapsed")
        return {
            **progress,
            "total_env_steps": self.config.env_steps,
            **mean_rates(per_seat),
            "mean_return": 0.0,  # self-play: one policy on both sides, so its returns sum to zero
            "steps_per_second": moves / elapsed if elapsed > 0 else 0.0,
            "checkpoints": {s: str(p) for s, p in self.checkpoints.items()},
        }

    def epoch_end(
        self,
        progress: dict[str, Any],
        on_progress: Callable[[dict[str, Any]], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> bool:
        """Record an epoch's progress and report it; True when `should_stop` ends the run here."""
        self.env_steps, self.epochs = progress["env_steps"], progress["epoch"]
        self.history.append(progress)
        if on_progress is not None:
            on_progress(progress)
        if should_stop is not None and should_stop():
            self.stopped = progress["epoch"] < progress["epochs"]
            return True
        return False


def _check_float(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be in [{lo:g}, {hi:g}], got {value}")
    return float(value)


def _num(cfg: TrainConfig, name: str, lo: float, hi: float) -> None:
    setattr(cfg, name, _check_float(name, getattr(cfg, name), lo, hi))


def _int(cfg: TrainConfig, name: str, lo: int, hi: int) -> None:
    value = getattr(cfg, name)
    # JSON may carry 1e4 or 10000.0 for an integer; accept whole floats, reject 1.5, true and NaN.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be in [{lo}, {hi}], got {value}")
    setattr(cfg, name, value)


def mean_rates(per_seat: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The rates averaged over the learning seats that were evaluated (None when none was)."""
    keys = ("win_rate", "draw_rate", "loss_rate")
    rows = [m for m in per_seat.values() if "win_rate" in m]
    return {k: (float(statistics.fmean([m[k] for m in rows])) if rows else None) for k in keys}
