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


class EngineError(RuntimeError):
    """An external engine (Stockfish, GNU Go) is missing, crashed, hung or answered nonsense.

    Not a ``MarlError``: the input was fine, the engine failed; the match it plays in fails.
    """
