"""Arena's domain model: games, agents and their checkpoints, training runs, matches and ratings."""

from .agents import Agent, Checkpoint, Game, Player
from .competitions import (
    League,
    LeagueGate,
    LeagueMember,
    LeagueResult,
    LeagueSnapshot,
    LeagueTick,
    Tournament,
    TournamentEntry,
    TournamentMatch,
    TournamentRound,
)
from .matches import Match, MatchSeat
from .ratings import AnchorPin, Rating, RatingEvent, RatingFit, RatingFitPoint
from .tokens import ApiToken
from .training import TrainingRun, TrainingStat

__all__ = [
    "AnchorPin",
    "ApiToken",
    "Agent",
    "Checkpoint",
    "Game",
    "Match",
    "MatchSeat",
    "Player",
    "Rating",
    "RatingEvent",
    "RatingFit",
    "RatingFitPoint",
    "TrainingRun",
    "TrainingStat",
    "League",
    "LeagueGate",
    "LeagueMember",
    "LeagueResult",
    "LeagueSnapshot",
    "LeagueTick",
    "Tournament",
    "TournamentEntry",
    "TournamentMatch",
    "TournamentRound",
]
