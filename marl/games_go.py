"""Go 9x9 for the registry: the board, GTP coordinates and area scoring of PettingZoo's ``go_v5``.

PettingZoo's go (Minigo's rules): area scoring, komi 7.5 to white, simple ko, no suicide; the game
ends after two passes in a row. Action ``9 * row + col`` with row 0 at the top, ``81`` is a pass.
GTP names points by column letter (A-J without I) and row number counted from the bottom: the top
left point is A9.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marl.errors import IllegalMoveError

SIZE = 9
PASS = SIZE * SIZE
KOMI = 7.5  # PettingZoo's default, kept: the registry builds go_v5 with board_size only
SEATS = ("black_0", "white_0")
COLUMNS = "ABCDEFGHJ"  # GTP skips I


def gtp_coord(action: int) -> str:
    """``81`` -> ``"pass"``, ``0`` -> ``"A9"``, ``80`` -> ``"J1"``."""
    if action == PASS:
        return "pass"
    row, col = divmod(int(action), SIZE)
    return f"{COLUMNS[col]}{SIZE - row}"


def action_from_gtp(text: str) -> int:
    """A GTP vertex (``"c4"``, ``"PASS"``) as an action index; ``IllegalMoveError`` otherwise."""
    vertex = str(text).strip().upper()
    if vertex == "PASS":
        return PASS
    if len(vertex) in (2, 3) and vertex[0] in COLUMNS and vertex[1:].isdigit():
        number = int(vertex[1:])
        if 1 <= number <= SIZE:
            return SIZE * (SIZE - number) + COLUMNS.index(vertex[0])
    raise IllegalMoveError(f"{text!r} is not a point of a 9x9 board (A1..J9 without I, or pass)")


def describe(action: int) -> str:
    """How a move reads in messages: ``"C4 (action 59)"``."""
    return f"{gtp_coord(action)} (action {action})"


def read_board(raw: Any) -> list[list[int]]:
    """Rows top to bottom: 0 empty, 1 black (first seat), 2 white."""
    board = np.asarray(raw._go.board)
    return np.select([board == 1, board == -1], [1, 2], 0).astype(int).tolist()


def area_score(board: np.ndarray, komi: float = KOMI) -> dict[str, Any]:
    """Area (Chinese) count as PettingZoo's result uses it: stones plus empty regions that touch only
    one colour; white gets ``komi``. ``board`` holds 1 black, -1 white, 0 empty."""
    area = {1: int((board == 1).sum()), -1: int((board == -1).sum())}
    seen = np.zeros(board.shape, dtype=bool)
    for start in zip(*np.nonzero(board == 0), strict=True):
        if seen[start]:
            continue
        region, borders = _flood(board, start, seen)
        if len(borders) == 1:
            area[borders.pop()] += region
    margin = area[1] - area[-1] - komi
    winner = SEATS[0] if margin > 0 else SEATS[1]
    return {
        "black": area[1],
        "white": area[-1],
        "komi": komi,
        "margin": abs(margin),
        "winner": winner,
        "text": f"{'B' if margin > 0 else 'W'}+{abs(margin):g}",
    }


def _flood(board: np.ndarray, start: tuple[int, int], seen: np.ndarray) -> tuple[int, set[int]]:
    """Size of the empty region at ``start`` and the colours that border it."""
    stack, size, borders = [start], 0, set()
    seen[start] = True
    while stack:
        row, col = stack.pop()
        size += 1
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            if not (0 <= r < SIZE and 0 <= c < SIZE):
                continue
            if board[r, c]:
                borders.add(int(board[r, c]))
            elif not seen[r, c]:
                seen[r, c] = True
                stack.append((r, c))
    return size, borders


def _last_moves(raw: Any) -> list[int]:
    return [PASS if m.move is None else SIZE * m.move[0] + m.move[1] for m in raw._go.recent]


def state_extras(raw: Any) -> dict[str, Any]:
    """What the go board shows beyond the stones: captures, the last move, passes and the count."""
    recent = _last_moves(raw)
    passes = 0
    while passes < len(recent) and recent[-1 - passes] == PASS:
        passes += 1
    black_caps, white_caps = raw._go.caps
    return {
        "size": SIZE,
        "captures": {SEATS[0]: int(black_caps), SEATS[1]: int(white_caps)},
        "last_move": {"action": recent[-1], "gtp": gtp_coord(recent[-1])} if recent else None,
        "passes": passes,  # consecutive passes just played; two end the game
        "score": area_score(np.asarray(raw._go.board), float(raw._komi)),
    }


def adjudicate(raw: Any) -> dict[str, Any]:
    """A game at the move bound is scored as it stands (dead stones count as alive)."""
    score = area_score(np.asarray(raw._go.board), float(raw._komi))
    returns = {seat: (1.0 if seat == score["winner"] else -1.0) for seat in SEATS}
    return {"returns": returns, "reason": "move_limit"}


def coords_to_action(coords: dict[str, int]) -> int:
    """``{"row", "col"}`` (row 0 at the top) as an action index."""
    return SIZE * coords["row"] + coords["col"]
