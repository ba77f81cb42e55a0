"""What a web process keeps of the human games it serves, so that a move reads and replays as little as
it can: each game's seats (who sits where never changes once a game starts) and the position after the
last move it served. A cached position is used only when its moves are the locked row's, move for
move; anything else (another process moved, a rolled-back move) is replayed afresh from the row. So
the caches save work and never decide a move."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from arena.models import Match, MatchSeat
from marl.match import MatchState

# A seat's player with what a move needs of it: the checkpoint (its warm agent's key) and its game.
SEAT_RELATED = "player__checkpoint__agent__game"
CACHED_GAMES = 1024

T = TypeVar("T")


class _Recent(Generic[T]):
    """A bounded map, least recently used out first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def pop(self, key: Any) -> T | None:
        with self._lock:
            return self._items.pop(key, None)

    def put(self, key: Any, item: T) -> T | None:
        """Store `item`; returns what it pushed out (the oldest entry, or the one it replaced)."""
        with self._lock:
            old = self._items.pop(key, None)
            self._items[key] = item
            if old is None and len(self._items) > self.size:
                _, old = self._items.popitem(last=False)
            return old

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_seats: _Recent[list[MatchSeat]] = _Recent(CACHED_GAMES)
_states: _Recent[MatchState] = _Recent(CACHED_GAMES)


def _key(match: Match) -> tuple[int, int, Any]:
    # The seed and start time too: a test database that starts again from an empty table reuses ids.
    return (match.pk, match.seed, match.started_at)


def match_seats(match: Match) -> list[MatchSeat]:
    """The match's seats with their players, read from the DB once per process."""
    seats = _seats.get(_key(match))
    if seats is None:
        seats = list(match.seats.select_related(SEAT_RELATED))
        _seats.put(_key(match), seats)
    return seats


def match_state_take(match: Match) -> MatchState:
    """The game's position as the row stores it: the one this process left after its last move there
    when its moves are the row's, else replayed from the row. The caller owns it until it hands it back
    (`match_state_keep`) or closes it; nobody else can take it meanwhile."""
    state = _states.pop(_key(match))
    if state is not None and state.moves == list(match.moves) and state.opening_plies == match.opening_plies:
        state.thinking_s = {}  # time limits count a reply's thinking, as in a state built afresh
        return state
    if state is not None:
        state.close()
    return MatchState(match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies)


def match_state_keep(match: Match, state: MatchState) -> None:
    """Keep the position after this move for the game's next one (closed instead once the game is over)."""
    if state.done:
        state.close()
        return
    pushed = _states.put(_key(match), state)
    if pushed is not None and pushed is not state:
        pushed.close()


def play_caches_clear() -> None:
    """Forget every cached seat list and position (tests)."""
    _seats.clear()
    _states.clear()
