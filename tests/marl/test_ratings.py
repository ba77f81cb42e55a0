"""Ratings against numbers worked out by hand (derivations in the comments)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.errors import MarlError
from marl.ratings import (
    ELO_PER_MU,
    Rating,
    bradley_terry,
    bradley_terry_intervals,
    conservative,
    default_rating,
    display_rating,
    elo_expected,
    elo_update,
    head_to_head,
    rate_match,
    standings,
)

LOG10_2 = math.log10(2.0)

# ------------------------------------------------------------------------------------------ Elo


def test_elo_equal_players_win_moves_sixteen_points_each_way():
    assert elo_update(1500, 1500, 1.0) == (1516.0, 1484.0)


def test_elo_expected_for_a_200_point_gap():
    # 1 / (1 + 10 ** (-200 / 400)) = 1 / (1 + 0.316228) = 0.759747
    assert elo_expected(1600, 1400) == pytest.approx(0.7597469, abs=1e-7)
    assert elo_expected(1400, 1600) == pytest.approx(1 - 0.7597469, abs=1e-7)


def test_elo_draw_against_a_weaker_player_costs_points_and_is_zero_sum():
    ra, rb = elo_update(1600, 1400, 0.5, k=32)
    # 32 * (0.5 - 0.759747) = -8.311901
    assert ra == pytest.approx(1600 - 8.311901, abs=1e-6)
    assert ra + rb == pytest.approx(3000)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "1"])
def test_elo_rejects_scores_outside_zero_to_one(bad):
    with pytest.raises(MarlError, match="score"):
        elo_update(1500, 1500, bad)


def test_elo_rejects_a_non_positive_k():
    with pytest.raises(MarlError, match="k must be positive"):
        elo_update(1500, 1500, 1.0, k=0)


# ------------------------------------------------------------------------------------ OpenSkill


def _hand_win_update() -> tuple[float, float]:
    """Weng-Lin Plackett-Luce, two newcomers, A wins (openskill adds tau^2 to sigma^2 first)."""
    sigma2 = (25 / 3) ** 2 + (25 / 300) ** 2
    c = math.sqrt(2 * sigma2 + 2 * (25 / 6) ** 2)  # 13.17668
    p_a = 0.5  # exp(mu_a / c) / (exp(mu_a / c) + exp(mu_b / c)) with equal mu
    mu = 25 + sigma2 / c * (1 - p_a)  # 27.635389
    gamma = math.sqrt(sigma2) / c
    delta = gamma * sigma2 / c**2 * p_a * (1 - p_a)
    return mu, math.sqrt(sigma2 * (1 - delta))  # sigma 8.065901


def test_rate_match_win_between_newcomers_matches_hand_computation():
    mu, sigma = _hand_win_update()
    assert mu == pytest.approx(27.635389, abs=1e-6)
    a, b = rate_match(default_rating(), default_rating(), 1.0)
    assert a.mu == pytest.approx(mu, abs=1e-9)
    assert b.mu == pytest.approx(50 - mu, abs=1e-9)
    assert a.sigma == pytest.approx(sigma, abs=1e-9)
    assert b.sigma == pytest.approx(sigma, abs=1e-9)


def test_rate_match_loss_mirrors_a_win():
    a, b = rate_match(default_rating(), default_rating(), 0.0)
    b2, a2 = rate_match(default_rating(), default_rating(), 1.0)
    assert (a, b) == (a2, b2)


def test_rate_match_draw_between_equals_keeps_mu_and_shrinks_sigma():
    a, b = rate_match(default_rating(), default_rating(), 0.5)
    assert a.mu == pytest.approx(25.0) and b.mu == pytest.approx(25.0)
    assert a.sigma < default_rating().sigma


def test_rate_match_draw_pulls_unequal_players_together():
    strong, weak = Rating(30.0, 3.0), Rating(20.0, 3.0)
    s, w = rate_match(strong, weak, 0.5)
    assert s.mu < 30.0 and w.mu > 20.0


def test_rate_match_fixed_anchor_never_moves_but_moves_the_other_side():
    anchor, player = Rating(25.0, 1.0), default_rating()
    free_player, _ = rate_match(player, anchor, 1.0)
    moved, same = rate_match(player, anchor, 1.0, fixed_b=True)
    assert same == anchor
    assert moved == free_player
    kept, other_way = rate_match(anchor, player, 0.0, fixed_a=True)
    assert kept == anchor and other_way == free_player


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=30))
def test_anchors_never_move_over_any_sequence_of_results(scores):
    anchor, player = Rating(25.0, 0.5), default_rating()
    for s in scores:
        player, anchor_after = rate_match(player, anchor, s, fixed_b=True)
        assert anchor_after == anchor


def test_rate_match_with_both_sides_fixed_changes_nothing():
    a, b = Rating(20, 1), Rating(30, 1)
    assert rate_match(a, b, 1.0, fixed_a=True, fixed_b=True) == (a, b)


@pytest.mark.parametrize("bad", [0.25, 2.0, -1.0])
def test_rate_match_accepts_only_win_draw_or_loss(bad):
    with pytest.raises(MarlError):
        rate_match(default_rating(), default_rating(), bad)


def test_rating_round_trips_through_json():
    r = Rating(27.5, 4.25)
    assert Rating.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert r.to_dict() == {"mu": 27.5, "sigma": 4.25}


@pytest.mark.parametrize(
    "bad", [{"mu": 1.0}, {"mu": 1.0, "sigma": 1.0, "x": 2}, {"mu": 1.0, "sigma": 0.0}, [1, 2]]
)
def test_rating_from_dict_rejects_bad_input(bad):
    with pytest.raises(MarlError):
        Rating.from_dict(bad)


def test_default_rating_and_conservative_value():
    assert default_rating() == Rating(25.0, 25 / 3)
    assert conservative(Rating(30.0, 2.0)) == pytest.approx(24.0)
    assert conservative(default_rating()) == pytest.approx(0.0)


def test_display_rating_puts_the_anchor_at_zero_and_uses_elo_points():
    anchor = Rating(21.0, 0.5)
    assert display_rating(anchor, anchor) == 0.0
    # 400 / ln(10) Elo points per logit, sqrt(2) * 25/6 = 5.892557 mu per logit: 29.480887 per mu.
    assert abs(ELO_PER_MU - 29.480887) < 1e-6
    assert display_rating(Rating(31.0, 2.0), anchor) == pytest.approx(294.80887, abs=1e-4)
    # The lower bound uses mu - 3 sigma = 25: 4 mu above the anchor.
    assert display_rating(Rating(31.0, 2.0), anchor, lower_bound=True) == pytest.approx(4 * ELO_PER_MU)


def test_display_rating_gap_predicts_the_plackett_luce_win_chance():
    anchor, a, b = Rating(25.0, 1e-3), Rating(30.0, 1e-3), Rating(22.0, 1e-3)
    c = math.sqrt(2 * (25 / 6) ** 2 + 2 * 1e-6)
    p_model = 1 / (1 + math.exp(-(a.mu - b.mu) / c))
    assert elo_expected(display_rating(a, anchor), display_rating(b, anchor)) == pytest.approx(
        p_model, abs=1e-6
    )


# -------------------------------------------------------------------------------- Bradley-Terry

# Strengths 4 : 2 : 1 make every pair's observed share equal its model chance, so (4, 2, 1) solves
# the likelihood equations exactly: A-B 2 of 3 (4/6), B-C 2 of 3 (2/3), A-C 4 of 5 (4/5).
# Draws count as half a win: A-B is one A win and two draws, 2 points of 3.
EXACT_TABLE = [
    ("A", "B", 1.0),
    ("A", "B", 0.5),
    ("B", "A", 0.5),
    ("B", "C", 1.0),
    ("C", "B", 0.0),
    ("B", "C", 0.0),
    *[("A", "C", 1.0)] * 3,
    ("C", "A", 0.0),
    ("C", "A", 1.0),
]


def test_bradley_terry_recovers_hand_computed_strengths():
    # 400 * log10(4, 2, 1) centred on the mean: +-400 log10 2 = +-120.411998.
    r = bradley_terry(EXACT_TABLE, prior=0.0)
    assert r["A"] == pytest.approx(400 * LOG10_2, abs=1e-6)
    assert r["B"] == pytest.approx(0.0, abs=1e-6)
    assert r["C"] == pytest.approx(-400 * LOG10_2, abs=1e-6)


def test_bradley_terry_anchor_is_zero():
    r = bradley_terry(EXACT_TABLE, prior=0.0, anchor="C")
    assert r == pytest.approx({"A": 800 * LOG10_2, "B": 400 * LOG10_2, "C": 0.0}, abs=1e-6)


def test_bradley_terry_gap_is_an_elo_gap():
    # A scores 3 of 4: strength ratio 3, 400 log10 3 = 190.848502 Elo points apart.
    r = bradley_terry([("A", "B", 1.0)] * 3 + [("B", "A", 1.0)], prior=0.0)
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert elo_expected(r["A"], r["B"]) == pytest.approx(0.75, abs=1e-9)


def test_bradley_terry_prior_keeps_an_unbeaten_player_finite():
    # One A win plus one virtual draw each against a strength-1 reference. By symmetry B = 1/x and
    # A's equation 1.5 = x^2 / (x^2 + 1) + x / (x + 1) becomes x^3 - x^2 - x - 3 = 0, root 2.1303954.
    x = 2.1303954
    assert abs(x**3 - x**2 - x - 3) < 1e-6
    r = bradley_terry([("A", "B", 1.0)], prior=1.0)
    assert r["A"] == pytest.approx(400 * math.log10(x), abs=1e-4)
    assert r["B"] == pytest.approx(-r["A"], abs=1e-9)


def test_bradley_terry_without_prior_rejects_an_unbeaten_player():
    with pytest.raises(MarlError, match="win and one loss"):
        bradley_terry([("A", "B", 1.0)], prior=0.0)


def test_bradley_terry_does_not_depend_on_result_order():
    assert bradley_terry(EXACT_TABLE) == pytest.approx(bradley_terry(EXACT_TABLE[::-1]), abs=1e-9)


@pytest.mark.parametrize(
    "bad", [[], [("A", "A", 1.0)], [("A", "B", 1.2)], [("A", "B")], [("A", "", 1.0)]], ids=str
)
def test_bradley_terry_rejects_bad_results(bad):
    with pytest.raises(MarlError):
        bradley_terry(bad)


def test_bradley_terry_rejects_an_anchor_that_never_played():
    with pytest.raises(MarlError, match="anchor"):
        bradley_terry(EXACT_TABLE, anchor="Z")


def test_bootstrap_intervals_are_deterministic_for_a_seed():
    first = bradley_terry_intervals(EXACT_TABLE, n_boot=100, seed=7)
    assert first == bradley_terry_intervals(EXACT_TABLE, n_boot=100, seed=7)
    assert first == bradley_terry_intervals(EXACT_TABLE[::-1], n_boot=100, seed=7)
    assert first != bradley_terry_intervals(EXACT_TABLE, n_boot=100, seed=8)


def test_bootstrap_intervals_contain_the_estimate():
    point = bradley_terry(EXACT_TABLE)
    for player, (est, lo, hi) in bradley_terry_intervals(EXACT_TABLE, n_boot=100).items():
        assert est == pytest.approx(point[player], abs=1e-6)
        assert lo <= est <= hi
        assert lo < hi


def test_narrower_level_gives_a_nested_interval():
    wide = bradley_terry_intervals(EXACT_TABLE, n_boot=100, level=0.95)
    narrow = bradley_terry_intervals(EXACT_TABLE, n_boot=100, level=0.5)
    for p in wide:
        assert wide[p][1] <= narrow[p][1] <= narrow[p][2] <= wide[p][2]


def test_bootstrap_anchor_has_a_zero_width_interval():
    assert bradley_terry_intervals(EXACT_TABLE, n_boot=50, anchor="B")["B"] == (0.0, 0.0, 0.0)


def test_bootstrap_needs_a_prior():
    with pytest.raises(MarlError, match="prior"):
        bradley_terry_intervals(EXACT_TABLE, prior=0.0)


# ------------------------------------------------------------------------------------ Standings

# A beats B and C, loses to D (2). B beats C, draws D (1.5). C beats D (1). D beats A, draws B (1.5).
# Sonneborn-Berger: D = 1 x A's 2 + 0.5 x B's 1.5 = 2.75; B = 1 x C's 1 + 0.5 x D's 1.5 = 1.75.
TABLE = [("A", "B", 1.0), ("A", "C", 1.0), ("D", "A", 1.0), ("B", "C", 1.0), ("B", "D", 0.5), ("C", "D", 1.0)]


def test_standings_sort_by_points_then_sonneborn_berger():
    rows = standings(TABLE)
    assert [r["player"] for r in rows] == ["A", "D", "B", "C"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert rows[1] == {
        "rank": 2,
        "player": "D",
        "games": 3,
        "wins": 1,
        "draws": 1,
        "losses": 1,
        "points": 1.5,
        "sonneborn_berger": 2.75,
    }
    assert rows[2]["sonneborn_berger"] == 1.75
    assert rows[0]["sonneborn_berger"] == 2.5  # B's 1.5 + C's 1


def test_standings_include_participants_without_games():
    rows = standings(TABLE, participants=["E", "A"])
    assert rows[-1]["player"] == "E" and rows[-1]["games"] == 0 and rows[-1]["points"] == 0.0
    assert len(rows) == 5


def test_head_to_head_records_both_directions():
    h2h = head_to_head(TABLE + [("A", "D", 0.5)])
    assert h2h["D"]["A"] == {"w": 1, "d": 1, "l": 0}
    assert h2h["A"]["D"] == {"w": 0, "d": 1, "l": 1}
    assert h2h["B"]["D"] == {"w": 0, "d": 1, "l": 0}
    assert "C" not in h2h["C"]
