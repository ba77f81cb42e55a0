"""Ratings you can trust: varied games, honest intervals, SPRT error rates, strength against perfect play.

Prints, from real games and seeded simulations:

1. distinct move sequences among 200 games (100 game pairs) between two fixed greedy tic-tac-toe
   checkpoints (two untrained networks from fixed seeds, saved and loaded as checkpoints), with
   openings off and on, and with a sampling player;
2. coverage of the 95% intervals of the Elo fit (ratings, seat advantage, draw) over 1,000 simulated
   tournaments with known strengths, seat advantage and draw rate (and of the pair bootstrap, 200
   replicates, on 200);
3. SPRT error rates over 1,000 simulated tests at elo0 and 1,000 at elo1, and the mean test length;
4. the LLR of a fixed pentanomial next to fishtest's, and next to a general optimizer's maximum;
5. a real pool rated on one scale (random anchored at 0), an SPRT on real game pairs, the
   tic-tac-toe perfect-play analysis of the checkpoints, and a connect four alpha-beta ladder.

    .venv/bin/python bench/bench_ratings.py [--tournaments 1000] [--bootstraps 200] [--tests 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marl.agents import PolicyAgent, RandomAgent, SoftmaxAgent  # noqa: E402
from marl.bots import make_bot  # noqa: E402
from marl.elo_fit import elo_fit, elo_fit_bootstrap  # noqa: E402
from marl.game_pairs import GamePair, play_pairs  # noqa: E402
from marl.sprt import SprtState, llr_logistic, llr_normalized  # noqa: E402

# Section 2 and 3: the simulated world (Elo; centred so the mean-zero fit has the same gauge).
STRENGTHS = np.array([-300.0, -120.0, -40.0, 40.0, 140.0, 280.0])
SEAT_ADVANTAGE, DRAW_ELO, GAMES_PER_ORDER = 35.0, 100.0, 10
ELO0, ELO1, ALPHA, BETA, MAX_PAIRS = 0.0, 40.0, 0.05, 0.05, 20_000
# Section 4: a fixed record, and fishtest's LLR_logistic / LLR_normalized on it (LLRcalc.py of
# official-stockfish/fishtest at commit b8eecff, run on the same counts and bounds).
RECORD, RECORD_ELO0, RECORD_ELO1 = [10, 40, 100, 45, 12], 0.0, 10.0
FISHTEST_LOGISTIC, FISHTEST_NORMALIZED = 0.2097169027, 0.2293575568


def _f(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + 10.0 ** (-np.asarray(x) / 400.0))


# ------------------------------------------------------------------------------------- 1. variety


def _checkpoints(directory: Path) -> list[PolicyAgent]:
    """Two untrained DQN networks from fixed seeds, written and read back as checkpoints."""
    import torch

    from marl.checkpoints import load_agent, save_checkpoint
    from marl.games import get_game
    from marl.nets import build_network

    spec, network = get_game("tictactoe"), {"kind": "mlp", "hidden": [64, 64]}
    agents = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        net = build_network(network, spec.obs_shape, spec.n_actions)
        meta = {"game": "tictactoe", "env_id": spec.env_id, "algorithm": "dqn", "network": network}
        path = save_checkpoint(
            directory, f"untrained-{seed}", weights=net.state_dict(), state=None,
            meta={**meta, "agent_id": "player_1", "env_steps": 0},
        )  # fmt: skip
        agents.append(load_agent(path, device="cpu"))
    return agents


def _distinct(pairs: list[GamePair]) -> int:
    return len({tuple(g.moves) for p in pairs for g in (p.first, p.second)})


def variety(a: PolicyAgent, b: PolicyAgent) -> None:
    seeds = range(100)
    print("1. Distinct move sequences in 200 tic-tac-toe games (100 pairs) between two greedy checkpoints")
    rows = [
        ("openings off (today)", play_pairs("tictactoe", a, b, seeds, plies=0)),
        ("openings on (2 random plies)", play_pairs("tictactoe", a, b, seeds)),
        ("openings on + sampling (T=0.5)", play_pairs("tictactoe", SoftmaxAgent(a, 0.5), SoftmaxAgent(b, 0.5), seeds)),
    ]  # fmt: skip
    for label, pairs in rows:
        print(f"   {label:<34} {_distinct(pairs):>4} distinct of 200")
    print()


# ------------------------------------------------------------------------------------- 2. coverage


def _tournament(rng: np.random.Generator) -> list[list[tuple[str, str, float]]]:
    """Game pairs between every two players: the same two games with seats swapped, outcomes drawn."""
    names = [f"p{i}" for i in range(len(STRENGTHS))]
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            for _ in range(GAMES_PER_ORDER):
                pair = []
                for x, y in ((i, j), (j, i)):
                    d = STRENGTHS[x] - STRENGTHS[y]
                    win, loss = _f(d + SEAT_ADVANTAGE - DRAW_ELO), _f(-d - SEAT_ADVANTAGE - DRAW_ELO)
                    u = rng.random()
                    pair.append((names[x], names[y], 1.0 if u < win else 0.0 if u < win + loss else 0.5))
                pairs.append(pair)
    return pairs


def _covered(fit, hits: dict[str, list[bool]]) -> None:
    for i, (_, lo, hi) in enumerate(fit.ratings[f"p{k}"] for k in range(len(STRENGTHS))):
        hits["ratings"].append(lo <= STRENGTHS[i] <= hi)
    hits["seat advantage"].append(fit.seat_advantage[1] <= SEAT_ADVANTAGE <= fit.seat_advantage[2])
    hits["draw"].append(fit.draw_elo[1] <= DRAW_ELO <= fit.draw_elo[2])


def coverage(tournaments: int, bootstraps: int) -> None:
    rng = np.random.default_rng(2026)
    fisher: dict[str, list[bool]] = {"ratings": [], "seat advantage": [], "draw": []}
    boot: dict[str, list[bool]] = {"ratings": [], "seat advantage": [], "draw": []}
    t = time.perf_counter()
    for k in range(tournaments):
        pairs = _tournament(rng)
        _covered(elo_fit([g for pair in pairs for g in pair]), fisher)
        if k < bootstraps:
            _covered(elo_fit_bootstrap(pairs, n_boot=200, seed=k), boot)
    seconds = time.perf_counter() - t
    n_games = len(STRENGTHS) * (len(STRENGTHS) - 1) * GAMES_PER_ORDER
    print(
        f"2. Coverage of 95% intervals: {len(STRENGTHS)} players {[int(s) for s in STRENGTHS]}, seat advantage "
        f"{SEAT_ADVANTAGE:g}, draw {DRAW_ELO:g} Elo, {n_games} games per tournament ({seconds:.0f} s)"
    )
    for label, hits, n in (("curvature", fisher, tournaments), ("pair bootstrap", boot, bootstraps)):
        cells = "  ".join(f"{key} {100 * np.mean(v):5.1f}%" for key, v in hits.items())
        print(f"   {label:<15} ({n:>4} tournaments)  {cells}")
    print("   target: 93% to 97%")
    print()


# ----------------------------------------------------------------------------------------- 3. SPRT


def _per_game_edge(target_score: float) -> float:
    """The rating edge at which the challenger's mean score per game (seats alternating) is ``target``."""
    from scipy.optimize import brentq

    def mean_score(e: float) -> float:
        total = 0.0
        for adv in (SEAT_ADVANTAGE, -SEAT_ADVANTAGE):
            win, loss = _f(e + adv - DRAW_ELO), _f(-e - adv - DRAW_ELO)
            total += win + 0.5 * (1.0 - win - loss)
        return total / 2.0 - target_score

    return float(brentq(mean_score, -800, 800))


def _pair_distribution(edge: float) -> np.ndarray:
    """Probabilities of pair scores 0, 0.5, 1, 1.5, 2 for a challenger ``edge`` Elo stronger."""
    games = []
    for adv in (SEAT_ADVANTAGE, -SEAT_ADVANTAGE):
        win, loss = float(_f(edge + adv - DRAW_ELO)), float(_f(-edge - adv - DRAW_ELO))
        games.append(np.array([loss, 1.0 - win - loss, win]))  # scores 0, 0.5, 1
    return np.convolve(games[0], games[1])


def _run_test(probs: np.ndarray, rng: np.random.Generator) -> tuple[str, int]:
    state = SprtState(elo0=ELO0, elo1=ELO1, alpha=ALPHA, beta=BETA)
    scores = rng.choice(5, size=MAX_PAIRS, p=probs) / 2.0
    for n, score in enumerate(scores, start=1):
        state = state.add_pairs([score])
        verdict = state.verdict()
        if verdict != "continue":
            return verdict, n
    return "continue", MAX_PAIRS


def sprt(tests: int) -> None:
    rng = np.random.default_rng(7)
    t = time.perf_counter()
    print(
        f"3. SPRT (logistic Elo, pentanomial) elo0={ELO0:g} elo1={ELO1:g} alpha={ALPHA} beta={BETA}, {tests} "
        f"simulated tests per row (draw {DRAW_ELO:g}, seat advantage {SEAT_ADVANTAGE:g} Elo)"
    )
    for label, elo in (("true Elo = elo0", ELO0), ("true Elo = elo1", ELO1)):
        probs = _pair_distribution(_per_game_edge(float(_f(elo))))
        runs = [_run_test(probs, rng) for _ in range(tests)]
        accepted = 100 * np.mean([v == "accept" for v, _ in runs])
        unfinished = sum(v == "continue" for v, _ in runs)
        pairs = np.mean([n for _, n in runs])
        print(
            f"   {label}: accepted {accepted:5.1f}%, mean {2 * pairs:6.0f} games ({pairs:.0f} pairs), "
            f"{unfinished} unfinished at {MAX_PAIRS} pairs"
        )
    print(
        f"   targets: at elo0 at most {100 * ALPHA + 1:.0f}% accepted; at elo1 at least {100 * (1 - BETA) - 2:.0f}%"
    )
    print(f"   ({time.perf_counter() - t:.0f} s)")
    print()


# ---------------------------------------------------------------------------------- 4. LLR reference


def _optimizer_llr(counts: list[int], elo0: float, elo1: float) -> float:
    """The same generalized LLR by brute force: maximise the multinomial likelihood under each mean."""
    from scipy.optimize import minimize

    n = np.array([c if c else 1e-3 for c in counts], dtype=float)  # fishtest's regularisation
    values = np.arange(5) / 4

    def best(score: float) -> float:
        constraints = [
            {"type": "eq", "fun": lambda p: p.sum() - 1},
            {"type": "eq", "fun": lambda p: p @ values - score},
        ]
        res = minimize(lambda p: -n @ np.log(p), n / n.sum(), method="SLSQP", bounds=[(1e-12, 1)] * 5,
                       constraints=constraints, options={"ftol": 1e-15, "maxiter": 1000})  # fmt: skip
        return -res.fun

    return best(float(_f(elo1))) - best(float(_f(elo0)))


def reference() -> None:
    print(f"4. LLR of the pentanomial {RECORD} for elo0={RECORD_ELO0:g} vs elo1={RECORD_ELO1:g}")
    ours = llr_logistic(RECORD, RECORD_ELO0, RECORD_ELO1)
    print(f"   logistic:   ours {ours:.10f}   fishtest LLR_logistic {FISHTEST_LOGISTIC:.10f}   "
          f"optimizer {_optimizer_llr(RECORD, RECORD_ELO0, RECORD_ELO1):.10f}")  # fmt: skip
    ours_n = llr_normalized(RECORD, RECORD_ELO0, RECORD_ELO1)
    print(f"   normalized: ours {ours_n:.10f}   fishtest LLR_normalized {FISHTEST_NORMALIZED:.10f}")
    print()


# -------------------------------------------------------------------------------- 5. a real pool


def real_pool(a: PolicyAgent, b: PolicyAgent) -> None:
    from marl.solved import alphabeta_ladder, tictactoe_against_perfect_play

    players = {
        "random": RandomAgent(),
        "untrained-1": a,
        "untrained-2": b,
        "minimax": make_bot("tictactoe", "minimax"),
    }
    names = list(players)
    pairs = []
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            for p in play_pairs("tictactoe", players[x], players[y], range(100 * i, 100 * i + 50)):
                pairs.append(p.games(x, y))
    fit = elo_fit([g for pair in pairs for g in pair], anchors={"random": 0.0})
    boot = elo_fit_bootstrap(pairs, anchors={"random": 0.0}, n_boot=200)
    print("5. A real tic-tac-toe pool, 50 game pairs per pairing (2-ply openings), anchored random = 0")
    print(f"   {'player':<12} {'Elo':>7} {'curvature 95%':>18} {'pair bootstrap 95%':>20}")
    for p in names:
        e, lo, hi = fit.ratings[p]
        _, blo, bhi = boot.ratings[p]
        print(f"   {p:<12} {e:7.0f} {f'[{lo:.0f}, {hi:.0f}]':>18} {f'[{blo:.0f}, {bhi:.0f}]':>20}")
    adv, draw = fit.seat_advantage, fit.draw_elo
    print(f"   first-move advantage {adv[0]:.0f} [{adv[1]:.0f}, {adv[2]:.0f}] Elo, draw {draw[0]:.0f} Elo")
    state = SprtState(elo0=0.0, elo1=100.0)
    for chunk in range(0, 400, 20):
        played = play_pairs("tictactoe", a, RandomAgent(), range(10_000 + chunk, 10_020 + chunk))
        state = state.add_pairs(p.score() for p in played)
        if state.verdict() != "continue":
            break
    print(f"   SPRT untrained-1 vs random (elo0 0, elo1 100, checked every 20 pairs): {state.verdict()} after "
          f"{state.pairs} pairs, LLR {state.llr():.2f}, pentanomial {list(state.counts)}")  # fmt: skip
    print("   Perfect-play analysis (positions reachable, share of non-optimal moves, W/D/L vs perfect):")
    for label, policy in (("untrained-1", a), ("untrained-2", b), ("minimax", players["minimax"])):
        for seat in ("player_1", "player_2"):
            r = tictactoe_against_perfect_play(policy, seat)
            print(f"   {label:<12} {seat}  {r.positions:4d} positions  {100 * r.mistake_share:5.1f}% mistakes  "
                  f"W/D/L {r.win:.3f}/{r.draw:.3f}/{r.loss:.3f}")  # fmt: skip
    print(
        "   Connect four, score per game against alpha-beta depth 1/2/4 (10 game pairs each, 4-ply openings):"
    )
    for label, agent in (("random", RandomAgent()), ("alphabeta:2", make_bot("connect_four", "alphabeta:2"))):
        ladder = alphabeta_ladder(agent, depths=(1, 2, 4), pairs=10)
        print(f"   {label:<12} " + "  ".join(f"d{d} {s:.2f}" for d, s in ladder.items()))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tournaments", type=int, default=1000)
    parser.add_argument("--bootstraps", type=int, default=200)
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        a, b = _checkpoints(Path(directory))
        variety(a, b)
        coverage(args.tournaments, args.bootstraps)
        sprt(args.tests)
        reference()
        real_pool(a, b)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
