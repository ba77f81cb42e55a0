"""The Elo fit with draws and a seat advantage: hand-worked cases, an independent optimizer, and
recovery of known parameters from seeded games."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from marl.elo_fit import elo_fit, elo_fit_bootstrap
from marl.errors import MarlError

ELO_PER_LOGIT = 400.0 / math.log(10.0)


def _f(x: float | np.ndarray) -> float | np.ndarray:
    return 1.0 / (1.0 + 10.0 ** (-np.asarray(x) / 400.0))


def _games(first: str, second: str, wins: int, draws: int, losses: int) -> list[tuple[str, str, float]]:
    return [(first, second, 1.0)] * wins + [(first, second, 0.5)] * draws + [(first, second, 0.0)] * losses


def _simulate(true: dict[str, float], adv: float, draw: float, per_order: int, seed: int):
    rng = np.random.default_rng(seed)
    games = []
    for a in true:
        for b in true:
            if a == b:
                continue
            d = true[a] - true[b]
            win, loss = _f(d + adv - draw), _f(-d - adv - draw)
            u = rng.random(per_order)
            games += [(a, b, 1.0 if x < win else 0.0 if x < win + loss else 0.5) for x in u]
    return games


def test_two_players_without_draws_match_the_closed_form():
    # With no draws the fit is two logits: first wins 3 of 4 when A moves first (190.85 Elo of
    # edge = diff + adv) and 1 of 2 when B does (0 = -diff + adv), so diff = adv = 95.42.
    games = _games("A", "B", 3, 0, 1) + _games("B", "A", 1, 0, 1)
    fit = elo_fit(games)
    edge = 400 * math.log10(3)
    assert fit.seat_advantage[0] == pytest.approx(edge / 2, abs=1e-6)
    assert fit.ratings["A"][0] == pytest.approx(edge / 4, abs=1e-6)  # mean zero: A = diff / 2
    assert fit.ratings["B"][0] == pytest.approx(-edge / 4, abs=1e-6)
    assert fit.draw_elo[0] == 0.0
    # The variance of a logit from n games at rate p is 1 / (n p (1 - p)) (in logit units).
    var_edge_a, var_edge_b = ELO_PER_LOGIT**2 / (4 * 0.75 * 0.25), ELO_PER_LOGIT**2 / (2 * 0.25)
    sd_a = math.sqrt(var_edge_a + var_edge_b) / 4
    _, lo, hi = fit.ratings["A"]
    assert (hi - lo) / 2 == pytest.approx(1.959964 * sd_a, rel=1e-6)


def _neg_log_likelihood(x: np.ndarray, games, players: list[str]) -> float:
    ratings = dict(zip(players, [0.0, *x[:-2]], strict=True))
    adv, draw = x[-2], x[-1]
    total = 0.0
    for a, b, s in games:
        d = ratings[a] - ratings[b]
        win, loss = _f(d + adv - draw), _f(-d - adv - draw)
        total -= math.log(win if s == 1.0 else loss if s == 0.0 else max(1.0 - win - loss, 1e-300))
    return total


def test_the_fit_agrees_with_a_general_optimizer_on_the_same_likelihood():
    games = (
        _games("A", "B", 5, 4, 2)
        + _games("B", "A", 3, 5, 3)
        + _games("B", "C", 6, 2, 1)
        + _games("C", "B", 2, 3, 4)
        + _games("A", "C", 4, 1, 0)
        + _games("C", "A", 2, 2, 3)
    )
    fit = elo_fit(games)
    best = minimize(
        _neg_log_likelihood,
        np.array([0.0, 0.0, 0.0, 100.0]),
        args=(games, ["A", "B", "C"]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 20000},
    )
    b, c, adv, draw = best.x
    mean = (0.0 + b + c) / 3
    assert fit.ratings["A"][0] == pytest.approx(-mean, abs=0.01)
    assert fit.ratings["B"][0] == pytest.approx(b - mean, abs=0.01)
    assert fit.ratings["C"][0] == pytest.approx(c - mean, abs=0.01)
    assert fit.seat_advantage[0] == pytest.approx(adv, abs=0.01)
    assert fit.draw_elo[0] == pytest.approx(draw, abs=0.01)


def test_the_fit_recovers_strengths_seat_advantage_and_draws_from_seeded_games():
    true = {"a": -250.0, "b": -40.0, "c": 60.0, "d": 230.0}
    fit = elo_fit(_simulate(true, adv=45.0, draw=110.0, per_order=1500, seed=1))
    assert sum(r[0] for r in fit.ratings.values()) == pytest.approx(0.0, abs=1e-6)
    for player, value in true.items():
        estimate, lo, hi = fit.ratings[player]
        assert lo < value < hi
        assert abs(estimate - value) < 15
    assert fit.seat_advantage[1] < 45.0 < fit.seat_advantage[2]
    assert fit.draw_elo[1] < 110.0 < fit.draw_elo[2]
    assert fit.games == 12 * 1500


def test_anchors_stay_pinned_and_the_others_keep_their_gaps():
    games = _simulate({"random": -400.0, "mid": 0.0, "minimax": 300.0}, 30.0, 80.0, 400, seed=2)
    free = elo_fit(games)
    pinned = elo_fit(games, anchors={"random": -400.0})
    assert pinned.ratings["random"] == (-400.0, -400.0, -400.0)
    shift = pinned.ratings["mid"][0] - free.ratings["mid"][0]
    assert pinned.ratings["minimax"][0] - free.ratings["minimax"][0] == pytest.approx(shift, abs=1e-6)
    assert pinned.seat_advantage[0] == pytest.approx(free.seat_advantage[0], abs=1e-6)
    two = elo_fit(games, anchors={"random": -400.0, "minimax": 300.0})
    assert two.ratings["minimax"] == (300.0, 300.0, 300.0)
    assert two.ratings["mid"][1] < two.ratings["mid"][0] < two.ratings["mid"][2]


def test_an_unbeaten_player_needs_the_prior():
    games = _games("A", "B", 4, 0, 0) + _games("B", "A", 0, 1, 3) + _games("B", "C", 2, 1, 1)
    with pytest.raises(MarlError, match="prior_draws"):
        elo_fit(games)
    fit = elo_fit(games, prior_draws=2.0)
    assert fit.ratings["A"][0] > fit.ratings["B"][0] > fit.ratings["C"][0] - 200


def test_a_pool_of_nothing_but_draws_rates_everyone_equal_with_wide_intervals():
    # No decisive game: the draw parameter has no finite maximum, so the weak parameter prior holds it.
    games = _games("A", "B", 0, 3, 0) + _games("B", "A", 0, 3, 0) + _games("B", "C", 0, 2, 0)
    fit = elo_fit(games, prior_draws=2.0)
    assert all(abs(r[0]) < 1e-6 for r in fit.ratings.values())
    assert all(r[2] - r[1] > 200 for r in fit.ratings.values())  # a few draws say little
    assert 0 < fit.draw_elo[0] < 10_000 and math.isfinite(fit.draw_elo[2])
    anchored = elo_fit(games, anchors={"C": 100.0}, prior_draws=2.0)
    assert anchored.ratings["A"][0] == pytest.approx(100.0, abs=1e-6)


def test_decisive_games_all_won_by_the_first_seat_give_a_finite_seat_advantage():
    games = _games("A", "B", 3, 2, 0) + _games("B", "A", 3, 2, 0)
    fit = elo_fit(games)
    assert fit.ratings["A"][0] == pytest.approx(fit.ratings["B"][0], abs=1e-6)
    assert 100 < fit.seat_advantage[0] < 10_000


def test_the_parameter_prior_leaves_a_fit_with_a_maximum_untouched():
    games = _games("A", "B", 5, 3, 2) + _games("B", "A", 4, 2, 4)
    free = elo_fit(games)
    # The same games plus one all-draw pair elsewhere cannot switch the prior on: wins and losses exist.
    assert free.seat_advantage[0] == elo_fit(list(reversed(games))).seat_advantage[0]


def test_bad_input_is_refused():
    with pytest.raises(MarlError):
        elo_fit([])
    with pytest.raises(MarlError):
        elo_fit([("A", "A", 1.0)])
    with pytest.raises(MarlError):
        elo_fit([("A", "B", 0.7)])
    with pytest.raises(MarlError, match="played no game"):
        elo_fit(_games("A", "B", 1, 1, 1) + _games("B", "A", 1, 1, 1), anchors={"C": 0.0})
    with pytest.raises(MarlError, match="never met"):
        elo_fit(
            _games("A", "B", 2, 1, 1)
            + _games("B", "A", 1, 1, 2)
            + _games("C", "D", 1, 1, 1)
            + _games("D", "C", 1, 1, 1)
        )


def test_repeated_identical_game_pairs_do_not_shrink_bootstrap_intervals():
    games = _simulate({"a": -100.0, "b": 0.0, "c": 120.0}, 40.0, 90.0, 60, seed=3)
    pairs = [games[i : i + 2] for i in range(0, len(games), 2)]
    once = elo_fit_bootstrap(pairs, n_boot=100, seed=5)
    tenfold = elo_fit_bootstrap([pair * 10 for pair in pairs], n_boot=100, seed=5)
    for player in once.ratings:
        assert tenfold.ratings[player] == pytest.approx(once.ratings[player], abs=1e-6)
    assert tenfold.seat_advantage == pytest.approx(once.seat_advantage, abs=1e-6)
    # The curvature treats copies as new evidence and shrinks by sqrt(10): the reason for pairs.
    naive = elo_fit([g for pair in pairs for g in pair * 10]).ratings["a"]
    assert (naive[2] - naive[1]) < (once.ratings["a"][2] - once.ratings["a"][1]) / 2
    lo, hi = once.ratings["a"][1], once.ratings["a"][2]
    assert lo < once.ratings["a"][0] < hi


def test_a_fit_is_plain_json():
    fit = elo_fit(_games("A", "B", 3, 2, 1) + _games("B", "A", 2, 2, 2))
    data = fit.to_json()
    assert set(data) == {"ratings", "seat_advantage", "draw_elo", "games", "level"}
    assert data["games"] == 12 and len(data["ratings"]["A"]) == 3
