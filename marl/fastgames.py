"""Fast game cores for search: tic-tac-toe and connect four on integer bitboards.

A state is two bitboards (one per seat) and the seat to move, so a copy costs two ints, not a
deep copy of a PettingZoo env. Each core reproduces PettingZoo's rules, rewards, action masks and
observation planes exactly (``tests/marl/test_fastgames.py`` checks them move for move); PettingZoo
stays the reference for everything a person sees.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from marl.errors import ConfigError, IllegalMoveError


def _plane_index_of(cell_bits: np.ndarray) -> np.ndarray:
    """Index of each cell's bit, plane by plane, in the 128 bits of the two bitboards laid end to end."""
    position = np.array([[int(b).bit_length() - 1 for b in row] for row in cell_bits], dtype=np.int64)
    return np.stack([position, position + 64], axis=2)


class FastGame:
    """One position: ``bits[seat]`` holds a seat's pieces, ``to_move`` is the seat to play (0 first).

    ``winner`` is the winning seat once someone has won, ``terminal`` true once the game is over.
    """

    name: ClassVar[str]
    n_actions: ClassVar[int]
    obs_shape: ClassVar[tuple[int, int, int]]
    # Bit of each observation cell, shaped like one observation plane (rows top to bottom).
    _cell_bits: ClassVar[np.ndarray]
    # For each observation cell and plane, its bit in the two bitboards laid end to end (64 bits each).
    _plane_index: ClassVar[np.ndarray]
    # Cells per action: the board is full (a draw) after n_actions * _cells_per_action moves.
    _cells_per_action: ClassVar[int] = 1

    __slots__ = ("bits", "to_move", "winner", "terminal", "moves")

    def __init__(self) -> None:
        self.bits = [0, 0]
        self.to_move = 0
        self.winner: int | None = None
        self.terminal = False
        self.moves = 0

    def clone(self) -> FastGame:
        """An independent copy (four ints and a list)."""
        other = object.__new__(type(self))
        other.bits = self.bits[:]
        other.to_move = self.to_move
        other.winner = self.winner
        other.terminal = self.terminal
        other.moves = self.moves
        return other

    # -- rules, one per game ---------------------------------------------------------------------
    def legal_actions(self) -> list[int]:
        """The legal actions in index order; empty once the game is over."""
        return [] if self.terminal else self.open_actions()

    def open_actions(self) -> list[int]:
        """Actions onto an empty cell (column) in index order, even once the game is over: what
        PettingZoo's action mask shows the next seat after a win."""
        raise NotImplementedError

    def _place(self, action: int) -> int:
        """The bit a piece played as ``action`` occupies (``action`` is known to be legal)."""
        raise NotImplementedError

    @staticmethod
    def _won(bits: int) -> bool:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------
    def step(self, action: int) -> None:
        """Play ``action`` for the seat to move; raise IllegalMoveError for an illegal one."""
        if self.terminal or action not in self.legal_actions():
            raise IllegalMoveError(f"action {action} is not legal in this {self.name} position")
        self.play(action)

    def play(self, action: int) -> None:
        """``step`` without the legality check: the search's inner loop only plays legal actions."""
        seat = self.to_move
        mine = self.bits[seat] | self._place(action)
        self.bits[seat] = mine
        self.moves += 1
        self.to_move = 1 - seat
        if self._won(mine):
            self.winner, self.terminal = seat, True
        elif self.moves == self.n_actions * self._cells_per_action:
            self.terminal = True

    def legal_mask(self) -> np.ndarray:
        """PettingZoo's ``action_mask`` (int8) for the seat to move; all zeros once the game is over."""
        mask = np.zeros(self.n_actions, dtype=np.int8)
        mask[self.legal_actions()] = 1
        return mask

    def reward(self, seat: int) -> int:
        """The final reward of ``seat``: +1 win, -1 loss, 0 draw or game not over."""
        if self.winner is None:
            return 0
        return 1 if self.winner == seat else -1

    def observation(self, seat: int | None = None) -> np.ndarray:
        """PettingZoo's observation planes for ``seat`` (default: the seat to move), int8.

        Channel 0 holds that seat's pieces, channel 1 the other seat's.
        """
        seat = self.to_move if seat is None else seat
        # Both bitboards as 16 little-endian bytes, unpacked to 128 bits, gathered into the planes:
        # four numpy calls whatever the board size.
        raw = self.bits[seat].to_bytes(8, "little") + self.bits[1 - seat].to_bytes(8, "little")
        return np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")[self._plane_index].view(np.int8)

    @classmethod
    def from_observation(cls, observation: np.ndarray) -> FastGame:
        """The position an observation shows to the seat to move.

        The first seat moves when both have played equally often; a finished game is not rebuilt
        (a player is never asked to move in one).
        """
        obs = np.asarray(observation)
        if obs.shape != cls.obs_shape:
            raise ConfigError(f"a {cls.name} observation has shape {cls.obs_shape}, got {obs.shape}")
        mine = int(cls._cell_bits[obs[:, :, 0] != 0].sum())
        theirs = int(cls._cell_bits[obs[:, :, 1] != 0].sum())
        if mine & theirs:
            raise ConfigError("an observation has a cell held by both sides")
        game = cls()
        to_move = 0 if mine.bit_count() == theirs.bit_count() else 1
        game.to_move = to_move
        game.bits[to_move], game.bits[1 - to_move] = mine, theirs
        game.moves = mine.bit_count() + theirs.bit_count()
        return game


# -------------------------------------------------------------------------------------- tic-tac-toe
# Bit i is action i, which is cell (i // 3, i % 3) of the observation (PettingZoo's board order).
_TTT_LINES = tuple(
    sum(1 << i for i in line)
    for line in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
)
_TTT_EMPTY_ACTIONS = tuple(tuple(a for a in range(9) if not occupied >> a & 1) for occupied in range(512))


class TicTacToe(FastGame):
    """Tic-tac-toe (``tictactoe_v3``): nine actions, one per cell."""

    __slots__ = ()
    name = "tictactoe"
    n_actions = 9
    obs_shape = (3, 3, 2)
    _cell_bits = (1 << np.arange(9, dtype=np.int64)).reshape(3, 3)
    _plane_index = _plane_index_of(_cell_bits)

    def open_actions(self) -> list[int]:
        """Empty cells in index order."""
        return list(_TTT_EMPTY_ACTIONS[self.bits[0] | self.bits[1]])

    def _place(self, action: int) -> int:
        return 1 << action

    @staticmethod
    def _won(bits: int) -> bool:
        return any(bits & line == line for line in _TTT_LINES)


# ------------------------------------------------------------------------------------- connect four
# Column c uses bits 7c .. 7c+5 from the bottom up; bit 7c+6 stays empty so that shifts for the
# four directions never wrap from one column into the next.
_ROWS, _COLS, _H = 6, 7, 7
_BOTTOM = tuple(1 << (_H * c) for c in range(_COLS))
_TOP = tuple(1 << (_H * c + _ROWS - 1) for c in range(_COLS))
_COLUMN = tuple(((1 << _ROWS) - 1) << (_H * c) for c in range(_COLS))


class ConnectFour(FastGame):
    """Connect four (``connect_four_v3``): seven actions, one per column."""

    __slots__ = ()
    name = "connect_four"
    n_actions = 7
    obs_shape = (6, 7, 2)
    _cells_per_action = _ROWS
    # Observation row 0 is the top of the board; bit row 0 is the bottom.
    _cell_bits = np.array(
        [[1 << (_H * c + (_ROWS - 1 - r)) for c in range(_COLS)] for r in range(_ROWS)], dtype=np.int64
    )
    _plane_index = _plane_index_of(_cell_bits)

    def open_actions(self) -> list[int]:
        """Columns that are not full, in index order."""
        occupied = self.bits[0] | self.bits[1]
        return [c for c in range(_COLS) if not occupied & _TOP[c]]

    def _place(self, action: int) -> int:
        # Adding the column's bottom bit carries through the filled run onto the first empty cell.
        return ((self.bits[0] | self.bits[1]) + _BOTTOM[action]) & _COLUMN[action]

    @staticmethod
    def _won(bits: int) -> bool:
        for shift in (1, _H, _H - 1, _H + 1):  # vertical, horizontal, both diagonals
            pairs = bits & (bits >> shift)
            if pairs & (pairs >> (2 * shift)):
                return True
        return False


FAST_GAMES: dict[str, type[FastGame]] = {"tictactoe": TicTacToe, "connect_four": ConnectFour}


def fast_game(name: str) -> type[FastGame]:
    """The fast core of a registered game; ConfigError for a game without one."""
    try:
        return FAST_GAMES[name]
    except KeyError:
        raise ConfigError(f"no fast core for {name!r}; available: {sorted(FAST_GAMES)}") from None
