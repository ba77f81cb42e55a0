"""Errors raised by ``marl``: each one a ``ValueError`` with a message a person can read."""

from __future__ import annotations


class MarlError(ValueError):
    """Base class for every bad input ``marl`` rejects."""


class UnknownGameError(MarlError):
    """The game name is not in the registry."""


class IllegalMoveError(MarlError):
    """A move that is not legal in the current position."""


class CheckpointError(MarlError):
    """A checkpoint file is missing, corrupt, tampered with or does not fit the game/network."""


class ConfigError(MarlError):
    """A training or network configuration is invalid."""


class EngineError(MarlError):
    """An external engine (GNU Go, Stockfish) is missing, hung, crashed or answered nonsense.

    The match it was playing fails; the engine is killed and the next game starts a fresh one.
    """


class TimeLimitError(MarlError):
    """A player took longer than the game's move or game time limit: the match fails, undecided."""
