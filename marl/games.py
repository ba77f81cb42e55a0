"""The game registry: arena game names mapped to PettingZoo classic environments.

This is the only ``marl`` module that imports PettingZoo (with the game modules it delegates to, such as
``games_chess``). Adding a game means adding one ``GameSpec`` entry to ``GAMES`` with its board reader
and coordinate parser, or its notation hooks.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pettingzoo
from pettingzoo import AECEnv

from marl import games_chess, games_poker
from marl.errors import IllegalMoveError, UnknownGameError

Board = list[list[int]]


@dataclass(frozen=True)
class GameSpec:
    """One game: how to build its env and how the browser reads and writes it."""

    name: str
    env_id: str
    seats: tuple[str, ...]
    obs_shape: tuple[int, ...]
    n_actions: int
    render_hint: str
    title: str
    # Safety bound for the match loop; both classic games end well before it.
    max_moves: int = 1000
    # Decides a game still running at ``max_moves`` from the raw env: ``{"returns": {seat: float},
    # "reason": str}`` (go scores the board, chess calls it a draw). ``None``: a draw, "max_moves".
    adjudicate: Callable[[Any], Mapping[str, Any]] | None = field(default=None, repr=False, compare=False)
    # Safety nets against a stuck player, not clocks that decide games: a move slower than
    # ``move_time_limit_s`` (an engine's answer included) or a seat's moves of one game taking more
    # than ``game_time_limit_s`` in all fail the match, unrated (``TimeLimitError``/``EngineError``).
    move_time_limit_s: float = 60.0
    game_time_limit_s: float = 1800.0
    # Random plies an agent-vs-agent game starts from by default (``marl.match.opening_for_seed``):
    # enough to vary games between deterministic players, few enough to keep the position balanced.
    opening_plies: int = 0
    # Reads the raw env's board as rows top to bottom: 0 empty, 1 first seat, 2 second seat.
    read_board: Callable[[Any], Board] = field(default=lambda raw: [], repr=False, compare=False)
    # The game's own coordinates: the payload keys and their conversion to an action index.
    coord_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    coords_to_action: Callable[[Mapping[str, int]], int] = field(
        default=lambda c: -1, repr=False, compare=False
    )
    coord_limits: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    describe_action: Callable[[int], str] = field(default=str, repr=False, compare=False)
    # Moves named by a key rather than coordinates (go: ``{"pass": true}`` is action 81).
    named_moves: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    # Keyword arguments of the PettingZoo env (go: ``board_size=9``).
    env_kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Game-notation fields for the browser (chess: FEN, SAN, legal moves in UCI) added to the state.
    notation: Callable[[Any], dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    # A move in the game's own notation (chess: ``{"uci": "e7e8q"}``) as an action index; it raises
    # ``IllegalMoveError`` for a move that is not legal.
    parse_move: Callable[[Any, Mapping[str, Any]], int] | None = field(
        default=None, repr=False, compare=False
    )
    # The payload key of a move written in the game's notation (chess: "uci"), so text such as an
    # opening typed into a form ("e2e4 e7e5") can be read move by move through ``parse_move``.
    notation_key: str | None = None
    # The result of an ended game when the rewards alone do not say why it ended (chess: checkmate).
    read_result: Callable[[Any, tuple[str, ...]], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )
    # Hidden information (poker): ``view_state(raw, viewer, done, legal, reveal)`` adds what ``viewer``
    # (a seat, or None for a spectator) may see; callers must then say who is looking.
    hidden_information: bool = False
    view_state: Callable[..., dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    # Chips of a return in big blinds (poker results are reported in milli-big-blinds per hand).
    big_blinds_per_return: float = 1.0
    # Exact exploitability of a policy profile (small poker games: Leduc), from an agent per seat:
    # ``{"kind": "exploitability", "value": big blinds per hand, ...}``; ``None``: no exact measure.
    exploitability: Callable[[Mapping[str, Any]], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )
    # Hands an agent-vs-agent match plays (``marl.poker_match``); 1: a match is one game. Poker's one
    # hand is mostly the cards' luck, so its matches are 100 duplicate pairs by default.
    hands_per_match: int = 1

    def make_env(self) -> AECEnv:
        """A fresh, not yet reset PettingZoo AEC env (with PettingZoo's standard wrappers)."""
        # The registry form; the module form (pettingzoo.classic.tictactoe_v3) warns on every call.
        return pettingzoo.make("aec", f"classic/{self.env_id}", **self.env_kwargs)

    def state_json(
        self, env: AECEnv, viewer: str | None = None, reveal: Collection[str] = ()
    ) -> dict[str, Any]:
        """Board, whose turn, legal moves and result as plain JSON values, as ``viewer`` sees them.

        ``viewer`` is a seat or ``None`` (a spectator); games without hidden information ignore it
        and ``reveal`` (seats whose hidden cards a finished match's replay may show).
        """
        raw = env.unwrapped
        done = is_done(raw)
        legal: list[int] = []
        if not done:
            mask = raw.observe(raw.agent_selection)["action_mask"]
            legal = [int(a) for a in np.flatnonzero(mask)]
        state = {
            "game": self.name,
            "board": self.read_board(raw),
            "to_move": None if done else raw.agent_selection,
            "legal_moves": legal,
            "result": self.result(raw) if done else None,
        }
        if self.notation is not None:
            state.update(self.notation(raw))
        if self.view_state is not None:
            state["poker"] = self.view_state(raw, viewer, done=done, legal=legal, reveal=reveal)
        return state

    def result(self, raw: Any) -> dict[str, Any]:
        """``{"winner", "returns", "reason"}`` of a game that has ended by the rules."""
        if self.read_result is not None:
            return self.read_result(raw, self.seats)
        return final_result(raw, self.seats)

    def check_action(self, env: AECEnv, action: object, mask: np.ndarray | None = None) -> int:
        """Validate an action index for the seat to move; return it as an ``int``.

        ``mask`` is the seat's current action mask when the caller already has it (saves an observe).
        """
        if not _is_int(action):
            raise IllegalMoveError(
                f"a move must be an integer action index, got {type(action).__name__} {action!r}"
            )
        index = int(action)  # type: ignore[call-overload]
        if not 0 <= index < self.n_actions:
            raise IllegalMoveError(f"action {index} is out of range 0..{self.n_actions - 1}")
        raw = env.unwrapped
        if is_done(raw):
            raise IllegalMoveError("the game is over")
        if mask is None:
            mask = raw.observe(raw.agent_selection)["action_mask"]
        if not mask[index]:
            raise IllegalMoveError(f"{self.describe_action(index)} is not a legal move here")
        return index

    def move_from_json(self, env: AECEnv, payload: object) -> int:
        """A human's move (``4``, ``{"action": 4}`` or game coordinates) as a legal action index."""
        if isinstance(payload, Mapping):
            keys = set(payload)
            if keys == {"action"}:
                return self.check_action(env, payload["action"])
            if len(keys) == 1 and next(iter(keys)) in self.named_moves:
                name = next(iter(keys))
                if payload[name] is not True:
                    raise IllegalMoveError(
                        f'{{"{name}": true}} is the only {name} move, got {payload[name]!r}'
                    )
                return self.check_action(env, self.named_moves[name])
            if self.parse_move is not None:
                return self.check_action(env, self.parse_move(env.unwrapped, payload))
            if keys == set(self.coord_keys):
                coords: dict[str, int] = {}
                for key in self.coord_keys:
                    value = payload[key]
                    if not _is_int(value):
                        raise IllegalMoveError(f"{key!r} must be an integer, got {value!r}")
                    limit = self.coord_limits[key]
                    if not 0 <= int(value) < limit:
                        raise IllegalMoveError(f"{key!r} must be in 0..{limit - 1}, got {value}")
                    coords[key] = int(value)
                return self.check_action(env, self.coords_to_action(coords))
            shape = ", ".join(f'"{k}": n' for k in self.coord_keys)
            named = "".join(f' or {{"{name}": true}}' for name in self.named_moves)
            raise IllegalMoveError(
                f"unexpected move keys {sorted(map(str, keys))}: send an action index, "
                f'{{"action": n}} or {{{shape}}}{named}'
            )
        return self.check_action(env, payload)

    def move_from_text(self, env: AECEnv, text: str) -> int:
        """One move as typed by a person: an action index, or the move in the game's notation."""
        word = str(text).strip()
        if word.lstrip("-").isdigit():
            return self.check_action(env, int(word))
        if self.notation_key is None:
            raise IllegalMoveError(f"{word!r}: a {self.title} move is an action index")
        return self.move_from_json(env, {self.notation_key: word})


def _is_int(value: object) -> bool:
    # bool is an int subclass and numpy ints are not int subclasses: be explicit about both.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_done(raw: Any) -> bool:
    """Whether a (raw or wrapped) PettingZoo env has ended for every agent still listed."""
    agents = raw.agents
    if not agents:
        return True
    return all(raw.terminations.get(a, False) or raw.truncations.get(a, False) for a in agents)


def final_result(raw: Any, seats: tuple[str, ...]) -> dict[str, Any]:
    """``{"winner", "returns", "reason"}`` from PettingZoo's rewards at the end of a game."""
    returns = {seat: float(raw.rewards.get(seat, 0.0)) for seat in seats}
    winner = winner_of(returns)
    return {"winner": winner, "returns": returns, "reason": "win" if winner else "draw"}


def winner_of(returns: Mapping[str, float]) -> str | None:
    """The seat with the strictly highest return, or ``None`` on a tie."""
    if not returns:
        return None
    best = max(returns.values())
    top = [seat for seat, value in returns.items() if value == best]
    return top[0] if len(top) == 1 else None


# --- tic-tac-toe: action a is column a // 3, row a % 3 (PettingZoo's layout 0|3|6 on the top row).
def _ttt_board(raw: Any) -> Board:
    squares = raw.board.squares
    return [[int(squares[3 * col + row]) for col in range(3)] for row in range(3)]


def _ttt_describe(action: int) -> str:
    return f"cell row {action % 3}, col {action // 3} (action {action})"


# --- connect four: the raw board is 6 rows x 7 columns, row 0 at the top; action = column.
def _c4_board(raw: Any) -> Board:
    board = raw.board
    return [[int(board[7 * row + col]) for col in range(7)] for row in range(6)]


def _c4_describe(action: int) -> str:
    return f"column {action}"


def _leduc_exploitability(agents: Mapping[str, Any]) -> dict[str, Any]:
    from marl.exploitability import agents_exploitability  # lazy: OpenSpiel

    return agents_exploitability(agents).to_json()


def _poker(
    name: str,
    env_id: str,
    title: str,
    obs: int,
    names: tuple[str, ...],
    max_moves: int,
    bb: float,
    exploitability: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
) -> GameSpec:
    """A heads-up poker entry: one hand per game, the deal drawn from the seed."""
    return GameSpec(
        name=name,
        env_id=env_id,
        seats=games_poker.SEATS,
        obs_shape=(obs,),
        n_actions=len(names),
        render_hint="poker",
        title=title,
        max_moves=max_moves,
        describe_action=lambda a: games_poker.describe_action(names, a),
        hidden_information=True,
        view_state=lambda raw, viewer, **kw: games_poker.poker_view(raw, viewer, names=names, **kw),
        parse_move=lambda raw, payload: games_poker.poker_move(raw, names, payload),
        big_blinds_per_return=bb,
        exploitability=exploitability,
        hands_per_match=200,
    )


# Leduc and limit hold'em return chips in big blinds; no-limit returns chips (the big blind is 2).
POKER_GAMES = (
    _poker(
        "leduc_holdem",
        "leduc_holdem_v4",
        "Leduc hold'em",
        36,
        games_poker.LIMIT_ACTIONS,
        16,
        1.0,
        exploitability=_leduc_exploitability,
    ),
    _poker("texas_holdem", "texas_holdem_v4", "Limit Texas hold'em", 72, games_poker.LIMIT_ACTIONS, 64, 1.0),
    _poker(
        "texas_holdem_no_limit",
        "texas_holdem_no_limit_v6",
        "No-limit Texas hold'em",
        54,
        games_poker.NO_LIMIT_ACTIONS,
        200,
        0.5,
    ),
)


def _go9() -> GameSpec:
    from marl import games_go as go  # the go entry's board, coordinates and scoring

    return GameSpec(
        name="go9",
        env_id="go_v5",
        seats=go.SEATS,
        obs_shape=(go.SIZE, go.SIZE, 17),
        n_actions=go.PASS + 1,
        render_hint="go",
        title="Go 9x9",
        # Games between sensible players end by two passes well before; random play ends near 120.
        max_moves=400,
        opening_plies=4,
        adjudicate=go.adjudicate,
        move_time_limit_s=30.0,
        read_board=go.read_board,
        coord_keys=("row", "col"),
        coords_to_action=go.coords_to_action,
        coord_limits={"row": go.SIZE, "col": go.SIZE},
        describe_action=go.describe,
        named_moves={"pass": go.PASS},
        env_kwargs={"board_size": go.SIZE},
        notation=go.state_extras,
    )


GAMES: dict[str, GameSpec] = {
    spec.name: spec
    for spec in (
        GameSpec(
            name="tictactoe",
            env_id="tictactoe_v3",
            seats=("player_1", "player_2"),
            obs_shape=(3, 3, 2),
            n_actions=9,
            render_hint="tictactoe",
            title="Tic-tac-toe",
            max_moves=18,
            opening_plies=2,
            read_board=_ttt_board,
            coord_keys=("row", "col"),
            coords_to_action=lambda c: 3 * c["col"] + c["row"],
            coord_limits={"row": 3, "col": 3},
            describe_action=_ttt_describe,
        ),
        GameSpec(
            name="connect_four",
            env_id="connect_four_v3",
            seats=("player_0", "player_1"),
            obs_shape=(6, 7, 2),
            n_actions=7,
            render_hint="connect_four",
            title="Connect Four",
            max_moves=84,
            opening_plies=4,
            read_board=_c4_board,
            coord_keys=("col",),
            coords_to_action=lambda c: c["col"],
            coord_limits={"col": 7},
            describe_action=_c4_describe,
        ),
        _go9(),
        GameSpec(
            name="chess",
            env_id="chess_v6",
            seats=("player_0", "player_1"),  # white, black
            obs_shape=(8, 8, 111),
            n_actions=4672,
            render_hint="chess",
            title="Chess",
            # 250 moves each: random play reaches the fifty-move rule or a repetition long before that.
            max_moves=500,
            opening_plies=2,
            describe_action=games_chess.chess_describe,
            notation=games_chess.chess_state,
            parse_move=games_chess.chess_parse_move,
            notation_key="uci",
            read_result=games_chess.chess_result,
        ),
        *POKER_GAMES,
    )
}


def get_game(name: str) -> GameSpec:
    """The registered game called ``name``; raises ``UnknownGameError`` otherwise."""
    try:
        return GAMES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(GAMES))
        raise UnknownGameError(f"unknown game {name!r}; known games: {known}") from None
