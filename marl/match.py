"""The one match loop: live games, human play, tournaments and evaluation all go through it."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from marl.agents import needs_moves
from marl.errors import IllegalMoveError, MarlError
from marl.games import AECEnv, GameSpec, get_game, is_done, winner_of
from marl.match_fast import FastMatchState, has_fast_core
from marl.match_limits import act_for_group, charge_time, decide_at_move_bound

if TYPE_CHECKING:
    from marl.agents import Agent

AgentsBySeat = Mapping[str, "Agent | None"]
OnStep = Callable[["Step"], None]


@dataclass
class MatchResult:
    """How a finished game ended: returns per seat, the moves, and why it stopped."""

    game: str
    seed: int
    moves: list[int]
    returns: dict[str, float]
    winner: str | None
    reason: str  # "win" | "draw" | "illegal_move" | "max_moves" | the game's adjudication reason
    # The first ``opening_plies`` of ``moves`` were the opening, not chosen by the agents.
    opening_plies: int = 0
    # What a result of many games adds (a poker match's hands, chips and mbb/hand), merged into the JSON.
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def opening(self) -> list[int]:
        """The leading moves that were the opening."""
        return self.moves[: self.opening_plies]

    def score(self, seat: str) -> float:
        """What ``seat`` scored: 1 a win, 0.5 a draw (or a game stopped at the move bound), 0 a loss."""
        return 0.5 if self.winner is None else float(self.winner == seat)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (for the DB and the wire)."""
        return {
            "game": self.game,
            "seed": self.seed,
            "moves": list(self.moves),
            "opening_plies": self.opening_plies,
            "returns": dict(self.returns),
            "winner": self.winner,
            "reason": self.reason,
            **self.details,
        }


@dataclass
class Step:
    """One move just made: ``ply`` counts moves played including this one (1 for the first)."""

    ply: int
    seat: str
    action: int
    state: MatchState


@dataclass
class _Forced:
    """An end the env does not know about (an agent's illegal move, the move bound)."""

    reason: str
    returns: dict[str, float] = field(default_factory=dict)


class MatchState:
    """One live game. ``MatchState(game, seed, moves)`` replays ``moves`` and so rebuilds it exactly.

    ``opening_plies`` says how many leading ``moves`` were the opening (recorded in the result).
    """

    def __init__(
        self,
        game: str | GameSpec,
        seed: int = 0,
        moves: Sequence[int] = (),
        *,
        max_moves: int | None = None,
        opening_plies: int = 0,
    ) -> None:
        self.spec: GameSpec = game if isinstance(game, GameSpec) else get_game(game)
        self.seed: int = int(seed)
        if not 0 <= int(opening_plies) <= len(moves):
            raise MarlError(
                f"opening_plies must be in 0..{len(moves)} (the moves given), got {opening_plies}"
            )
        self.opening_plies: int = int(opening_plies)
        self.moves: list[int] = []
        self.max_moves: int = self.spec.max_moves if max_moves is None else int(max_moves)
        self.env = _take_env(self.spec)
        self.env.reset(seed=self.seed)
        # Moves are validated here before they reach the env, so step the raw env and skip the
        # wrappers' checks (they would call observe() again on every step).
        self._raw = self.env.unwrapped
        self._forced: _Forced | None = None
        # Seconds each seat's agent spent choosing moves in this process (see ``charge_time``).
        self.thinking_s: dict[str, float] = {}
        # Cached per position (the match loop asks for both many times per move).
        self._done = is_done(self._raw)
        self._observed: tuple[np.ndarray, np.ndarray] | None = None
        for i, action in enumerate(moves):
            try:
                self.apply(action)
            except IllegalMoveError as err:
                raise IllegalMoveError(
                    f"stored move {i + 1} ({action!r}) cannot be replayed: {err}"
                ) from None

    @property
    def game(self) -> str:
        """The arena game name."""
        return self.spec.name

    @property
    def ply(self) -> int:
        """Number of moves played so far."""
        return len(self.moves)

    @property
    def done(self) -> bool:
        """Whether the game has ended (normally, by an illegal agent move, or at the move bound)."""
        return self._done

    @property
    def to_move(self) -> str | None:
        """The seat to move, or ``None`` once the game is over."""
        return None if self.done else self._raw.agent_selection

    def observation(self) -> tuple[np.ndarray, np.ndarray]:
        """``(obs, mask)`` of the seat to move, from its own point of view."""
        if self._done:
            raise MarlError("the game is over: no seat is to move")
        if self._observed is None:
            observed = self._raw.observe(self._raw.agent_selection)
            self._observed = (observed["observation"], observed["action_mask"])
        return self._observed

    def apply(self, action: int) -> None:
        """Play ``action`` for the seat to move; raises ``IllegalMoveError`` and changes nothing then."""
        if self._done:
            raise IllegalMoveError("the game is over")
        mask = self._observed[1] if self._observed is not None else None
        index = self.spec.check_action(self._raw, action, mask)
        self._raw.step(index)
        self.moves.append(index)
        self._observed = None
        self._done = is_done(self._raw)
        if not self._done and len(self.moves) >= self.max_moves:
            self._forced = _Forced(*decide_at_move_bound(self.spec, self._raw))
            self._done = True

    def forfeit(self, seat: str, reason: str = "illegal_move") -> None:
        """End the game because ``seat`` broke the rules: -1 for it, 0 for the others (PettingZoo's rule)."""
        if self.done:
            raise MarlError("the game is already over")
        returns = {s: (-1.0 if s == seat else 0.0) for s in self.spec.seats}
        self._forced = _Forced(reason, returns)
        self._done = True

    def _result_fields(self) -> dict[str, Any]:
        if self._forced is not None:
            returns = dict(self._forced.returns)
            return {"winner": winner_of(returns), "returns": returns, "reason": self._forced.reason}
        return self.spec.result(self._raw)

    def state_json(self, viewer: str | None = None, reveal: Collection[str] = ()) -> dict[str, Any]:
        """The game's ``state_json`` for ``viewer`` (a seat, or ``None`` for a spectator) plus ``ply``
        and ``moves`` (the result also carries ``reason``). ``reveal``: see ``GameSpec.state_json``."""
        state = self.spec.state_json(self.env, viewer, reveal)
        if self._forced is not None:
            state["to_move"] = None
            state["legal_moves"] = []
        state["result"] = self._result_fields() if self.done else None
        state["ply"] = self.ply
        state["moves"] = list(self.moves)
        return state

    def close(self) -> None:
        """Hand the env back for reuse (building one costs more than a game); the state is dead after."""
        if self.env is not None:
            _recycle([self])

    def __enter__(self) -> MatchState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def result(self) -> MatchResult:
        """The final result; raises ``MarlError`` while the game is still running."""
        return _result(self)


def _result(state: MatchState | FastMatchState) -> MatchResult:
    if not state.done:
        raise MarlError(f"the game is not over yet ({state.to_move} to move)")
    fields = state._result_fields()
    return MatchResult(
        game=state.spec.name,
        seed=state.seed,
        moves=list(state.moves),
        returns=fields["returns"],
        winner=fields["winner"],
        reason=fields["reason"],
        opening_plies=state.opening_plies,
    )


# Building an env (its gymnasium spaces) costs more than playing a tic-tac-toe game, so the loops
# below hand the envs of games nobody else can see back for reuse; reset() restores them fully.
_ENV_POOL: dict[str, list[AECEnv]] = {}
_ENV_POOL_MAX = 4096


def _take_env(spec: GameSpec) -> AECEnv:
    try:
        return _ENV_POOL.get(spec.name, []).pop()
    except IndexError:  # empty pool (or another thread took the last one)
        return spec.make_env()


def _recycle(states: Sequence[MatchState]) -> None:
    for state in states:
        pool = _ENV_POOL.setdefault(state.spec.name, [])
        if len(pool) < _ENV_POOL_MAX:
            pool.append(state.env)
        state.env = state._raw = None  # type: ignore[assignment]  # the state is dead from here on


def derive_seed(seed: int, index: int) -> int:
    """A well-mixed 32-bit seed for stream ``index`` of a match seeded with ``seed``."""
    entropy = (int(seed) & 0xFFFF_FFFF_FFFF_FFFF, int(index))
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _play(state: MatchState, seat: str, action: object, on_step: OnStep | None) -> None:
    try:
        state.apply(action)  # type: ignore[arg-type]
    except IllegalMoveError:
        # An agent that plays an illegal move loses the game instead of crashing the loop.
        state.forfeit(seat)
        return
    if on_step is not None:
        on_step(Step(ply=state.ply, seat=seat, action=state.moves[-1], state=state))


def advance(state: MatchState, agents_by_seat: AgentsBySeat, on_step: OnStep | None = None) -> None:
    """Let agents move until the game ends or a seat without an agent (a human) is to move."""
    while not state.done:
        seat = state.to_move
        agent = agents_by_seat.get(seat) if seat is not None else None
        if agent is None:
            return
        obs, mask = state.observation()
        # An engine replays the position from the move history; every other agent reads the planes.
        mover = agent.act_moves if needs_moves(agent) else None  # type: ignore[union-attr]
        started = time.monotonic()
        action = mover(list(state.moves), obs, mask) if mover else agent.act(obs, mask)
        charge_time(state, seat, time.monotonic() - started)  # type: ignore[arg-type]
        _play(state, seat, action, on_step)  # type: ignore[arg-type]


def close_agents(agents_by_seat: AgentsBySeat) -> None:
    """Stop what the agents hold for a game (an engine's process); an agent asked to move again starts
    afresh. The match loop calls it when its games end, and callers of ``advance`` when theirs do."""
    unique = {id(agent): agent for agent in agents_by_seat.values() if agent is not None}
    for agent in unique.values():
        close = getattr(agent, "close", None)
        if callable(close):
            close()


def _check_agents(spec: GameSpec, agents_by_seat: AgentsBySeat) -> None:
    missing = [seat for seat in spec.seats if agents_by_seat.get(seat) is None]
    if missing:
        raise MarlError(f"{spec.name}: no agent for seat(s) {', '.join(missing)}; seats are {spec.seats}")


def _reset_agents(spec: GameSpec, agents_by_seat: AgentsBySeat, seed: int) -> None:
    for index, seat in enumerate(spec.seats):
        agents_by_seat[seat].reset(derive_seed(seed, index))  # type: ignore[union-attr]


# Stream index of the opening's random plies; agents use streams 0, 1, ... (one per seat).
_OPENING_STREAM = 1_000_003
_OPENING_ATTEMPTS = 100


def opening_for_seed(game: str | GameSpec, seed: int, plies: int | None = None) -> list[int]:
    """``plies`` random legal moves drawn from ``seed`` (the game's ``opening_plies`` when ``None``).

    The same game, seed and plies give the same opening. The game is never over after it: an opening
    that ends the game is drawn again from the next stream.
    """
    spec = game if isinstance(game, GameSpec) else get_game(game)
    plies = spec.opening_plies if plies is None else int(plies)
    if not 0 <= plies < spec.max_moves:
        raise MarlError(f"opening plies must be in 0..{spec.max_moves - 1}, got {plies}")
    for attempt in range(_OPENING_ATTEMPTS):
        rng = np.random.default_rng(derive_seed(seed, _OPENING_STREAM + attempt))
        with MatchState(spec, seed) as state:
            while state.ply < plies and not state.done:
                _, mask = state.observation()
                state.apply(int(rng.choice(np.flatnonzero(mask))))
            if not state.done:
                return list(state.moves)
    raise MarlError(f"{spec.name}: no opening of {plies} plies that leaves the game running")


def _opening_state(
    spec: GameSpec, seed: int, opening: Sequence[int] | None, fast: bool = False
) -> MatchState | FastMatchState:
    """A game after its opening: on the fast core when ``fast`` (nobody watches it), else in the env."""
    moves = list(opening or ())
    kind = FastMatchState if fast else MatchState
    state = kind(spec, seed, moves, opening_plies=len(moves))
    if moves and state.done:
        if isinstance(state, MatchState):
            state.close()
        raise MarlError(f"{spec.name}: the opening {moves} ends the game before the agents move")
    return state


def play_match(
    game: str | GameSpec,
    agents_by_seat: AgentsBySeat,
    seed: int,
    on_step: OnStep | None = None,
    *,
    opening: Sequence[int] | None = None,
) -> MatchResult:
    """Play one game between agents; the same seed, opening and agents give the same moves.

    ``opening`` (action indices, say from ``opening_for_seed``) is played first; the result's moves
    start with it and its ``opening_plies`` says how long it was. ``on_step`` sees the agents' moves.
    """
    spec = game if isinstance(game, GameSpec) else get_game(game)
    _check_agents(spec, agents_by_seat)
    _reset_agents(spec, agents_by_seat, seed)
    state = _opening_state(spec, seed, opening)
    try:
        advance(state, agents_by_seat, on_step)
    finally:
        close_agents(agents_by_seat)
    result = state.result()
    if on_step is None:  # with a callback the caller may keep the state (and its env)
        _recycle([state])
    return result


def play_matches(
    game: str | GameSpec,
    agents_by_seat: AgentsBySeat,
    seeds: Sequence[int],
    on_step: OnStep | None = None,
    *,
    openings: Sequence[Sequence[int]] | None = None,
) -> list[MatchResult]:
    """Play ``len(seeds)`` games at once: each step, one ``act_batch`` per seat for all its games.

    Agents are reset once, from ``seeds[0]``, since one agent object serves every game. Results equal
    ``play_match`` game by game for agents whose moves do not depend on their random state.
    ``openings`` gives one opening per seed (as in ``play_match``); ``on_step`` receives a ``Step``
    for every agent move of every game.
    """
    spec = game if isinstance(game, GameSpec) else get_game(game)
    _check_agents(spec, agents_by_seat)
    if openings is not None and len(openings) != len(seeds):
        raise MarlError(f"{len(openings)} openings for {len(seeds)} seeds: give one per game")
    if not seeds:
        return []
    _reset_agents(spec, agents_by_seat, seeds[0])
    # Games nobody watches run on the game's fast core when it has one: the same rules, rewards and
    # observations as the env (checked game by game in the tests) at a fraction of the cost per step.
    fast = on_step is None and has_fast_core(spec)
    states = [
        _opening_state(spec, seed, openings[i] if openings else None, fast) for i, seed in enumerate(seeds)
    ]
    try:
        _play_batch(spec, agents_by_seat, [state for state in states if not state.done], on_step)
    finally:
        close_agents(agents_by_seat)
    results = [_result(state) for state in states]
    if on_step is None:
        _recycle([state for state in states if isinstance(state, MatchState)])
    return results


def _play_batch(
    spec: GameSpec,
    agents_by_seat: AgentsBySeat,
    active: list[MatchState | FastMatchState],
    on_step: OnStep | None,
) -> None:
    """Step the running games until all have ended: one ``act_batch`` per seat and step."""
    while active:
        for seat in spec.seats:
            group = [state for state in active if state.to_move == seat]
            if not group:
                continue
            pairs = [state.observation() for state in group]
            actions = act_for_group(agents_by_seat[seat], seat, group, pairs)
            for state, action in zip(group, actions, strict=True):
                _play(state, seat, action, on_step)
        active = [state for state in active if not state.done]
