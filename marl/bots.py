"""Reference bots that measure strength: perfect tic-tac-toe, alpha-beta connect four and go's
eye-keeping random player.

Tic-tac-toe and connect four read PettingZoo's observation planes from the mover's point of view:
channel 0 holds the mover's pieces, channel 1 the opponent's. Go's planes are the other way round
(see ``EyesAgent``).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from marl.agents import Agent, RandomAgent, UniformChoice
from marl.errors import ConfigError, MarlError
from marl.games import get_game
from marl.games_go import PASS
from marl.poker_bots import POKER_BOTS, LeducCfrAgent
from marl.search import rollout_agent
from marl.stockfish import DEFAULT_NODES, StockfishAgent, StockfishLevel

# ---------------------------------------------------------------------------------------------
# Tic-tac-toe: bit i is action i (the observation flattened row-major is in action order).
_TTT_LINES = tuple(
    sum(1 << i for i in line)
    for line in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
)
_TTT_FULL = (1 << 9) - 1


def _ttt_won(bits: int) -> bool:
    return any(bits & line == line for line in _TTT_LINES)


@cache
def _ttt_value(mine: int, theirs: int) -> int:
    """Negamax value for the mover: +(1 + empty cells) for a win, so quicker wins score higher."""
    empty = _TTT_FULL & ~(mine | theirs)
    if not empty:
        return 0
    return max(_ttt_move_value(mine, theirs, a) for a in range(9) if empty >> a & 1)


def _ttt_move_value(mine: int, theirs: int, action: int) -> int:
    after = mine | (1 << action)
    if _ttt_won(after):
        return 1 + (9 - (after | theirs).bit_count())
    return -_ttt_value(theirs, after)


def _best(values: np.ndarray, rng: np.random.Generator | None, preference: tuple[int, ...] = ()) -> int:
    """Argmax over non-NaN values: the first best in ``preference`` (else in index order), or a seeded
    random one among the equal-best."""
    best = np.nanmax(values)
    ties = np.flatnonzero(values == best)
    if rng is not None:
        return int(rng.choice(ties))
    return next((a for a in preference if values[a] == best), int(ties[0]))


class _Bot:
    """Shared plumbing: optional seeded tie-break, act_batch as a loop over act."""

    preference: tuple[int, ...] = ()  # deterministic tie-break order

    def __init__(self, seed: int | None = None) -> None:
        # seed None: deterministic (first best action); an int turns on a seeded random tie-break.
        self._random_ties = seed is not None
        self.rng = np.random.default_rng(seed) if self._random_ties else None

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the tie-break when it is random; a deterministic bot ignores the seed."""
        if self._random_ties and seed is not None:
            self.rng = np.random.default_rng(seed)

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        """The best legal action by search."""
        if not np.asarray(action_mask).any():
            raise MarlError("an action mask has no legal action")
        return _best(self.scores(observation, action_mask), self.rng, self.preference)

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Search is per position: one ``act`` per row."""
        return np.array([self.act(o, m) for o, m in zip(observations, masks, strict=True)], dtype=np.int64)


class MinimaxAgent(_Bot):
    """Perfect tic-tac-toe by memoized negamax; prefers quicker wins and slower losses."""

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Negamax value of each legal action (>0 win, 0 draw, <0 loss); NaN for illegal ones."""
        obs = np.asarray(observation).reshape(9, 2)
        mine = int(np.dot(obs[:, 0].astype(np.int64), 1 << np.arange(9)))
        theirs = int(np.dot(obs[:, 1].astype(np.int64), 1 << np.arange(9)))
        values = np.full(9, np.nan)
        for action in np.flatnonzero(action_mask):
            values[action] = _ttt_move_value(mine, theirs, int(action))
        return values


# ---------------------------------------------------------------------------------------------
# Connect four bitboards: column c uses bits 7c .. 7c+5 (bottom to top) plus a sentinel bit 7c+6.
_ROWS, _COLS = 6, 7
_H = _ROWS + 1
_BOTTOM = tuple(1 << (_H * c) for c in range(_COLS))
_TOP = tuple(1 << (_H * c + _ROWS - 1) for c in range(_COLS))
_COLUMN = tuple(((1 << _ROWS) - 1) << (_H * c) for c in range(_COLS))
_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre first: better cut-offs and a central tie-break
_FULL = sum(((1 << _ROWS) - 1) << (_H * c) for c in range(_COLS))
_CENTRE = ((1 << _ROWS) - 1) << (_H * 3)
_WIN = 1_000_000
# Score of a window holding n of one side's pieces and none of the other's.
_WINDOW_WEIGHTS = (0, 1, 4, 32, 0)


def _c4_windows() -> tuple[int, ...]:
    windows = []
    for c in range(_COLS):
        for r in range(_ROWS):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(c + k * dc, r + k * dr) for k in range(4)]
                if all(0 <= cc < _COLS and 0 <= rr < _ROWS for cc, rr in cells):
                    windows.append(sum(1 << (_H * cc + rr) for cc, rr in cells))
    return tuple(windows)


_WINDOWS = _c4_windows()  # 69 windows of four cells


def _drop(occupied: int, column: int) -> int:
    """The bit a piece dropped in a non-full ``column`` lands on (the carry clears the filled run)."""
    return (occupied + _BOTTOM[column]) & _COLUMN[column]


def _c4_won(bits: int) -> bool:
    for shift in (1, _H, _H - 1, _H + 1):  # vertical, horizontal, both diagonals
        pairs = bits & (bits >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def _c4_evaluate(mine: int, theirs: int) -> int:
    """Window-count heuristic from the mover's point of view, plus a bonus for centre pieces."""
    score = 3 * ((mine & _CENTRE).bit_count() - (theirs & _CENTRE).bit_count())
    weights = _WINDOW_WEIGHTS
    for window in _WINDOWS:
        m = mine & window
        t = theirs & window
        if not t:
            if m:
                score += weights[m.bit_count()]
        elif not m:
            score -= weights[t.bit_count()]
    return score


def _c4_negamax(mine: int, theirs: int, depth: int, alpha: int, beta: int) -> int:
    occupied = mine | theirs
    if occupied == _FULL:
        return 0
    moves = []
    for c in _ORDER:
        if not occupied & _TOP[c]:
            bit = _drop(occupied, c)
            if _c4_won(mine | bit):
                return _WIN + depth  # a win now beats any later win
            moves.append(bit)
    if depth == 0:
        return _c4_evaluate(mine, theirs)
    best = -_WIN - 100
    for bit in moves:
        value = -_c4_negamax(theirs, mine | bit, depth - 1, -beta, -alpha)
        if value > best:
            best = value
            if value > alpha:
                alpha = value
                if alpha >= beta:
                    break
    return best


# Row 0 of the observation is the top of the board; bit row 0 is the bottom. Every bit is < 2**49.
_PLANE_BITS = np.array(
    [[1 << (_H * c + (_ROWS - 1 - r)) for c in range(_COLS)] for r in range(_ROWS)], dtype=np.int64
)


def _c4_planes_to_bits(observation: np.ndarray) -> tuple[int, int]:
    obs = np.asarray(observation).reshape(_ROWS, _COLS, 2) != 0
    return int(_PLANE_BITS[obs[:, :, 0]].sum()), int(_PLANE_BITS[obs[:, :, 1]].sum())


class AlphaBetaAgent(_Bot):
    """Connect four: negamax with alpha-beta at a fixed depth and a window-count heuristic."""

    preference = _ORDER

    def __init__(self, depth: int = 4, seed: int | None = None) -> None:
        if not 1 <= int(depth) <= 10:
            raise ConfigError(f"alpha-beta depth must be in 1..10, got {depth}")
        super().__init__(seed)
        self.depth = int(depth)

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Search value of each legal column (wins near +1e6, losses near -1e6); NaN for illegal ones."""
        mine, theirs = _c4_planes_to_bits(observation)
        occupied = mine | theirs
        values = np.full(_COLS, np.nan)
        legal = [c for c in _ORDER if action_mask[c]]
        for c in legal:
            bit = _drop(occupied, c)
            if _c4_won(mine | bit):  # take an immediate win without searching
                values[c] = _WIN + self.depth
                return values
        best = -_WIN - 100
        for c in legal:
            bit = _drop(occupied, c)
            # Window (best - 1, +inf): moves at least as good as the best so far get exact values,
            # so equal-best moves are known for the tie-break; worse ones only need an upper bound.
            value = -_c4_negamax(theirs, mine | bit, self.depth - 1, -_WIN - 200, -(best - 1))
            values[c] = value
            best = max(best, value)
        return values


# ---------------------------------------------------------------------------------------------
# Go 9x9: 81 board points row-major (row 0 at the top), then the pass (``marl.games_go``).


def go_own_eyes(observations: np.ndarray) -> np.ndarray:
    """Each row's single-point eyes of the mover, flat in action order (``(batch, 81)`` bools): empty
    points whose on-board orthogonal neighbours are all the mover's stones.

    PettingZoo's go_v5 stacks the planes as the previous mover saw them: plane 0 holds the stones of
    the player who just moved (the opponent of the one to move), plane 1 the mover's own."""
    obs = np.asarray(observations).astype(bool, copy=False)
    own, theirs = obs[..., 1], obs[..., 0]
    walled = np.pad(own, ((0, 0), (1, 1), (1, 1)), constant_values=True)  # the edge walls an eye too
    eyes = ~(own | theirs)
    eyes &= walled[:, :-2, 1:-1] & walled[:, 2:, 1:-1] & walled[:, 1:-1, :-2] & walled[:, 1:-1, 2:]
    return eyes.reshape(len(obs), PASS)


class EyesAgent(UniformChoice):
    """Go's light-playout policy: a uniformly random legal move that does not fill one of its own
    single-point eyes; it passes only when no such move is left. A ladder bot between random and
    GNU Go: it beats random (random fills its eyes and lets its groups die), GNU Go beats it."""

    def candidates(self, observations: np.ndarray, legal: np.ndarray) -> np.ndarray:
        """The legal moves that keep its eyes; the pass only when none is left (an eye if it must)."""
        candidates = legal.copy()
        candidates[:, :PASS] &= ~go_own_eyes(observations)
        candidates[:, PASS] = False
        stuck = ~candidates.any(axis=1)
        candidates[stuck & legal[:, PASS], PASS] = True
        no_pass = stuck & ~legal[:, PASS]
        candidates[no_pass] = legal[no_pass]
        return candidates


# ---------------------------------------------------------------------------------------------
BOTS: dict[str, tuple[str, ...]] = {
    "tictactoe": ("random", "minimax", "mcts"),
    "connect_four": ("random", "alphabeta", "mcts"),
    # Poker: call = always check or call; cfr = Leduc's CFR+ equilibrium; rule = hand strength.
    "leduc_holdem": ("random", "call", "cfr"),
    "texas_holdem": ("random", "call", "rule"),
    "texas_holdem_no_limit": ("random", "call", "rule"),
    # Go: eyes = random but never filling its own single-point eyes (a ladder bot below GNU Go).
    "go9": ("random", "eyes", "gnugo"),
    "chess": ("random", "stockfish"),
}
# Bots that take numbers after a colon, and what they mean.
_ARG_HINTS = {
    "alphabeta": "alphabeta:N for depth N",
    "mcts": "mcts:N for N simulations a move",
    "gnugo": "gnugo:L for GNU Go at level L, 1-10",
    "stockfish": "stockfish:L for skill level L in 0..20, stockfish:L:N for N nodes a move",
    "cfr": "cfr:P for the CFR+ policy P% of the time, random moves otherwise",
}
DEFAULT_DEPTH = 4  # alphabeta == alphabeta:4
DEFAULT_SIMULATIONS = 200  # mcts == mcts:200


# Settings offered in the arena's menus for bots that take a level (any other level can be typed).
MENU_LEVELS: dict[str, tuple[str, ...]] = {
    "stockfish": ("stockfish:0", "stockfish:3", "stockfish:8", "stockfish:20"),
}


def bot_menu(game: str) -> list[str]:
    """The bot specs a menu offers for ``game``: each bot, a leveled one at a few levels."""
    return [spec for name in BOTS.get(game, ()) for spec in MENU_LEVELS.get(name, (name,))]


def _bot_names(available: tuple[str, ...]) -> str:
    return ", ".join(available) + "".join(f" ({_ARG_HINTS[b]})" for b in available if b in _ARG_HINTS)


def make_bot(game: str, name: str, seed: int | None = None) -> Agent:
    """A bot by name: ``random``, ``minimax`` (tic-tac-toe), ``alphabeta`` or ``alphabeta:N`` (connect
    four), ``mcts`` or ``mcts:N`` (UCT with random playouts, N simulations a move), ``gnugo`` or
    ``gnugo:L`` (go 9x9: GNU Go at level L), ``eyes`` (go 9x9: random moves that keep its own
    eyes), ``stockfish:L`` or ``stockfish:L:N`` (chess: Stockfish at skill level L, N nodes a move),
    ``cfr`` or ``cfr:P`` (Leduc: CFR+, or CFR+ P% of the time and random moves otherwise); no engine
    process starts here."""
    get_game(game)  # UnknownGameError for a bad game name
    available = BOTS.get(game, ())
    pattern = r"([a-z_]+)(?::(\d+))?(?::(\d+))?"
    match = re.fullmatch(pattern, name.strip().lower()) if isinstance(name, str) else None
    base, arg, extra = match.groups() if match else (None, None, None)
    takes = {"alphabeta": 1, "mcts": 1, "gnugo": 1, "stockfish": 2, "cfr": 1}.get(base or "", 0)
    if base not in available or (arg is not None and takes < 1) or (extra is not None and takes < 2):
        raise ConfigError(f"unknown bot {name!r} for {game}; available: {_bot_names(available)}")
    if base == "stockfish":
        level = StockfishLevel(int(arg or 0), int(extra) if extra else DEFAULT_NODES)
        return StockfishAgent(level)
    if base == "random":
        return RandomAgent(seed)
    if base == "cfr" and arg is not None:
        return LeducCfrAgent(seed, share=int(arg) / 100.0)
    if base in POKER_BOTS:
        return POKER_BOTS[base](seed)
    if base == "minimax":
        return MinimaxAgent(seed)
    if base == "eyes":
        return EyesAgent(seed)
    if base == "gnugo":
        from marl.gnugo import DEFAULT_LEVEL, GnuGoAgent  # lazy: an engine subprocess per game

        level = int(arg) if arg is not None else DEFAULT_LEVEL
        return GnuGoAgent(level, seed, timeout_s=get_game(game).move_time_limit_s)
    if base == "mcts":
        return rollout_agent(game, int(arg) if arg is not None else DEFAULT_SIMULATIONS, seed)
    return AlphaBetaAgent(depth=int(arg) if arg is not None else DEFAULT_DEPTH, seed=seed)
