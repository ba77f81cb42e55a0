"""Who beats whom on a leaderboard: the payoff matrix of the top players ordered by α-Rank, with the
cycles a single Elo hides, on the page and in the API."""

from __future__ import annotations

import pytest

from arena.models import Game
from arena.services.payoffs import payoffs_table
from tests.factories import cyclic_rated_pool, synthetic_rated_pool

pytestmark = pytest.mark.django_db


def test_a_cyclic_pool_shares_its_alpharank_mass_over_the_cycle_and_names_it(user):
    players = cyclic_rated_pool(user)
    table = payoffs_table(game=Game.objects.get(name="tictactoe"))
    by_label = {p["label"]: p for p in table["players"]}
    labels = {name: players[name].label for name in "abc"}
    assert by_label[players["random"].label]["mass"] == pytest.approx(0, abs=1e-3)
    for name in "abc":
        assert by_label[labels[name]]["mass"] == pytest.approx(1 / 3, abs=1e-3)
    assert table["players"][-1]["label"] == players["random"].label  # no mass: last
    assert len(table["cycles"]) == 1
    cycle = table["cycles"][0]
    assert set(cycle) == set(labels.values())
    # Each member of the cycle beats the next one.
    index = [p["label"] for p in table["players"]]
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        assert table["payoffs"][index.index(a)][index.index(b)] == pytest.approx(0.6)


def test_a_transitive_pool_puts_the_strongest_first_and_has_no_cycle(user):
    players = synthetic_rated_pool(user, 300)
    table = payoffs_table(game=Game.objects.get(name="tictactoe"))
    assert table["players"][0]["label"] == players["b"].label
    assert table["cycles"] == []
    n = len(table["players"])
    assert all(table["payoffs"][i][i] == 0 and table["games"][i][i] == 0 for i in range(n))


def test_the_leaderboard_page_draws_the_matrix_and_points_out_the_cycle(user, client):
    players = cyclic_rated_pool(user)
    page = client.get("/games/tictactoe/leaderboard/").content.decode()
    assert "data-payoff-matrix" in page and "α-Rank" in page
    assert page.count("data-cycle>") == 1 and f"{players['a'].label} beats" in page


def test_the_api_serves_the_payoff_table_and_404s_an_unknown_game(user, client):
    cyclic_rated_pool(user)
    table = client.get("/api/leaderboards/tictactoe/payoffs").json()
    assert table["method"] == "alpharank" and len(table["cycles"]) == 1
    assert len(table["payoffs"]) == len(table["players"]) == 4
    assert client.get("/api/leaderboards/nonesuch/payoffs").status_code == 404
