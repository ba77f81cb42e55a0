"""One league member's part of a tick: train (a learning seat against the PFSP-weighted pool, or every seat
at once by pure self-play), put the new checkpoints into the pool, and evaluate them against the pool and
the reference bots (rated, summarised). Bots train members only with `pool_bots` (or, for a one-seat
learner, on the first tick while the pool is still empty); otherwise they are evaluation anchors alone.

In poker an evaluation game is one poker match of the game's `hands_per_match` hands, scored as the
pool scores matches (`players.entrants_play`); `eval_games` counts matches there, at most
POKER_EVAL_MATCHES per opponent."""

from __future__ import annotations

from typing import Any

import marl.agents
from arena.models import (
    Checkpoint,
    League,
    LeagueMember,
    LeagueResult,
    LeagueSnapshot,
    LeagueTick,
    Player,
    Rating,
    TrainingRun,
)
from arena.models.agents import Agent, newest_per_seat
from arena.services.anchors import anchor_bots, display_elo, display_sigma
from arena.services.players import (
    entrants_play,
    player_agent,
    player_agents,
    player_for_bot,
    player_for_checkpoint,
)
from arena.services.poker_matches import poker_game_is
from arena.services.ratings import RatedGame, rating_fit_get, ratings_record, score_of
from arena.services.training import training_run_execute
from arena.services.training_configs import training_pool_resolve
from marl.match import MatchResult, opening_for_seed, play_matches
from marl.pairing import pfsp_weights
from marl.train_config import TrainConfig

# What a league's training runs use unless its `train_overrides` say otherwise.
DEFAULT_OVERRIDES = {"num_envs": 4, "eval_games": 0}
# A poker evaluation game is a 200-hand match (about 0.4 s of CPU with a checkpoint in it, Leduc), not
# one hand: 10 per opponent keeps a member's evaluation to seconds against a pool and its anchors.
POKER_EVAL_MATCHES = 10


def _pool(league: League, seat: str) -> list[tuple[Player, str]]:
    """Opponents for a learner in `seat`: active snapshots in the other seats, then the bots.

    Each is `(player, its pool spec)`: `checkpoint:<id>` or `bot:<name>` (the training service turns
    them into files and names when the run starts; a stored config never holds a server path).
    """
    snapshots = (
        LeagueSnapshot.objects.filter(league=league, active=True)
        .exclude(checkpoint__seat=seat)
        .select_related("checkpoint__agent__game")
        .order_by("id")
    )
    pool = [
        (player_for_checkpoint(checkpoint=s.checkpoint), f"checkpoint:{s.checkpoint.pk}") for s in snapshots
    ]
    # An empty pool (a one-seat learner's first tick) has nothing but the bots to train against; a bot
    # that reads the move history (Leduc's CFR+ anchor) evaluates only.
    if league.pool_bots or not pool:
        game = league.game.name
        pool += [
            (player_for_bot(game=league.game, bot=bot), f"bot:{bot}")
            for bot in anchor_bots(game)
            if TrainConfig.is_training_bot(game, bot)
        ]
    return pool


def _win_rates(player: Player | None, opponents: list[Player]) -> dict[str, float]:
    """The learner's score against each opponent over its stored evaluations; 0.5 when never met."""
    rates = {str(o.pk): 0.5 for o in opponents}
    if player is None:
        return rates
    totals: dict[str, list[int]] = {}
    for r in LeagueResult.objects.filter(player=player, opponent__in=opponents):
        total = totals.setdefault(str(r.opponent_id), [0, 0])
        total[0] += 2 * r.wins + r.draws
        total[1] += 2 * r.games
    rates.update({pk: points / games for pk, (points, games) in totals.items() if games})
    return rates


def member_self_plays(league: League, member: LeagueMember) -> bool:
    """Whether the member trains every seat at once by pure self-play (`opponent: "self"`): always for az
    (one network for every seat), for DQN and PPO when the league says so and the agent learns every seat."""
    agent = member.agent
    return agent.algorithm in Agent.SELF_PLAY_ONLY or (
        league.self_play and set(agent.learning_seats) == set(league.game.seats)
    )


def member_train(
    *, league: League, tick: LeagueTick, member: LeagueMember, seats: list[str], steps: int, worker: str
) -> dict[str, Checkpoint]:
    """Train `seats` of a member for `steps` env steps: one seat against the PFSP-weighted pool, or every
    seat by self-play (`member_self_plays`). Its new checkpoint per seat."""
    agent = member.agent
    latest = newest_per_seat(agent.checkpoints.filter(seat__in=seats))
    base = max((cp.env_steps for cp in latest.values()), default=0)
    if member_self_plays(league, member):
        config = _self_play_config(league, tick, member, steps, base)
    else:
        config = _train_config(league, tick, member, seats[0], steps, latest.get(seats[0]))
    run = TrainingRun.objects.create(
        agent=agent,
        config={**config, "start_from": {seat: cp.pk for seat, cp in latest.items()}},
        env_steps_done=base,
        env_steps_total=base + steps,
    )
    status = training_run_execute(run_id=run.pk, worker=f"{worker}:run-{run.pk}"[:128])
    run.refresh_from_db()
    made = newest_per_seat(run.checkpoints.filter(seat__in=seats))
    if status != TrainingRun.COMPLETED or set(made) != set(seats):
        raise RuntimeError(
            f"training run {run.pk} of {agent.name} ({', '.join(seats)}) ended {run.status}: {run.error}"
        )
    return made


def _run_config(
    league: League, tick: LeagueTick, member: LeagueMember, steps: int, env_steps: int, **decided: Any
) -> dict[str, Any]:
    """A league run's TrainConfig keys: the defaults, the league's overrides, then what the league
    decides (the agent's game, algorithm and network, the opponents in `decided`, steps and seed)."""
    agent = member.agent
    return {
        **DEFAULT_OVERRIDES,
        "steps_per_epoch": steps,
        **league.train_overrides,
        "game": league.game.name,
        "algorithm": agent.algorithm,
        "network": agent.network,
        **decided,
        "env_steps": env_steps,
        "seed": (league.pk * 100_003 + tick.number * 101 + member.pk) % 2**32,
    }


def _self_play_config(
    league: League, tick: LeagueTick, member: LeagueMember, steps: int, base: int
) -> dict[str, Any]:
    """The run's TrainConfig for pure self-play: every seat learns, no pool and no bot."""
    from marl.train_config import SELF, TrainConfig  # lazy: torch

    config = _run_config(league, tick, member, steps, base + steps, learn_seats="both", opponent=SELF)
    return TrainConfig.from_dict(config).to_dict()


def _train_config(
    league: League, tick: LeagueTick, member: LeagueMember, seat: str, steps: int, latest: Checkpoint | None
) -> dict[str, Any]:
    """The run's TrainConfig: `steps` more env steps against the pool, sampled by PFSP weights from the
    stored win rates of the seat's latest checkpoint."""
    from marl.train_config import TrainConfig  # lazy: torch

    pool = _pool(league, seat)
    learner = player_for_checkpoint(checkpoint=latest) if latest else None
    weights = pfsp_weights(_win_rates(learner, [p for p, _ in pool]), mode=league.pfsp_mode, p=league.pfsp_p)
    config = _run_config(
        league,
        tick,
        member,
        steps,
        (latest.env_steps if latest else 0) + steps,
        learn_seats=[seat],
        opponent="pool",
        pool=[member_ for _, member_ in pool],
        pool_weights=[weights[str(p.pk)] for p, _ in pool],
    )
    resolved, _ = training_pool_resolve(config=config)
    return {**TrainConfig.from_dict(resolved).to_dict(), "pool": config["pool"]}


def member_snapshot(
    *, league: League, tick: LeagueTick, member: LeagueMember, checkpoint: Checkpoint
) -> LeagueSnapshot:
    """Put the new checkpoint into the pool; only the `pool_size` newest per member and seat stay active."""
    snapshot, _ = LeagueSnapshot.objects.get_or_create(
        league=league, checkpoint=checkpoint, defaults={"member": member, "tick": tick.number}
    )
    keep = list(
        LeagueSnapshot.objects.filter(member=member, checkpoint__seat=checkpoint.seat, active=True)
        .order_by("-tick", "-id")
        .values_list("pk", flat=True)[: league.pool_size]
    )
    LeagueSnapshot.objects.filter(member=member, checkpoint__seat=checkpoint.seat, active=True).exclude(
        pk__in=keep
    ).update(active=False)
    return snapshot


def member_evaluate(
    *, league: League, tick: LeagueTick, member: LeagueMember, checkpoint: Checkpoint
) -> dict[str, Any]:
    """Batched games of the new snapshot against the pool and every reference bot; rate and summarise."""
    me = player_for_checkpoint(checkpoint=checkpoint)
    me_agent = player_agent(player=me)
    games: list[RatedGame] = []
    summaries = []
    for i, opponent in enumerate(_evaluation_opponents(league, checkpoint.seat)):
        seed0 = (tick.number * 1_000_003 + member.pk * 10_007 + i * 101) % 2**31
        played = _play_pairing(
            league, checkpoint.seat, me_agent, player_agent(player=opponent, seed=seed0), seed0
        )
        summaries.append(_summary(tick, me, opponent, checkpoint.seat, played))
        games += _rated_games(league, checkpoint.seat, me, opponent, played)
    LeagueResult.objects.bulk_create(summaries)
    provisional = ratings_record(pool=league.game.name, games=games).get(me.pk)
    fit = rating_fit_get(
        pool=league.game.name
    )  # the chart point: the fitted Elo (queued if the pool is large)
    return _tick_row(member, checkpoint, summaries, fit.interval(me.pk), provisional)


def member_evaluate_pairs(
    *, league: League, tick: LeagueTick, member: LeagueMember, snapshot: dict[str, Checkpoint]
) -> dict[str, dict[str, Any]]:
    """Evaluate a member that learns every seat as one agent version (`snapshot`: its new checkpoint per
    seat): against each opponent, every opening twice with seats swapped wherever the opponent can take
    both seats (the bots, other agent versions); each game counts for the checkpoint of the seat it was
    played in. Returns the tick row per seat, keyed like `member_evaluate`'s callers key them."""
    mine = {seat: player_for_checkpoint(checkpoint=cp) for seat, cp in snapshot.items()}
    my_agents = {seat: player_agent(player=player) for seat, player in mine.items()}
    summaries: dict[str, list[LeagueResult]] = {seat: [] for seat in snapshot}
    games: list[RatedGame] = []
    for i, opponent in enumerate(_pair_opponents(league, snapshot)):
        seed0 = (tick.number * 1_000_003 + member.pk * 10_007 + i * 101) % 2**31
        seeds = [seed0 + g for g in range(_eval_units(league, max(1, league.eval_games // 2)))]
        played = entrants_play(league.game.name, my_agents, player_agents(player=opponent, seed=seed0), seeds)
        for seat in snapshot:
            results = [g.result for g in played if g.a_seat == seat]
            if results:
                summaries[seat].append(_summary(tick, mine[seat], opponent, seat, results))
                games += _rated_games(league, seat, mine[seat], opponent, results)
    LeagueResult.objects.bulk_create([row for rows in summaries.values() for row in rows])
    provisional = ratings_record(pool=league.game.name, games=games)
    fit = rating_fit_get(pool=league.game.name)
    rows = {}
    for seat, checkpoint in snapshot.items():
        # A duplicate poker match is the version's one game, credited to its first seat's checkpoint
        # (the version's player, as in matches): the other seat's row shows that record.
        by = (
            seat
            if summaries[seat] or not any(summaries.values())
            else next(s for s in snapshot if summaries[s])
        )
        rows[f"{member.pk}:{seat}"] = _tick_row(
            member, checkpoint, summaries[by], fit.interval(mine[by].pk), provisional.get(mine[by].pk)
        )
    return rows


def member_evaluate_search(
    *, league: League, tick: LeagueTick, member: LeagueMember, snapshot: dict[str, Checkpoint]
) -> dict[str, dict[str, Any]]:
    """Each new checkpoint with `mcts:<eval_search>` on top, in its seat, against every reference bot:
    rated and summarised as a player of its own (search changes strength, so it is not the bare
    checkpoint's record). Tick rows keyed `<member>:<seat>:mcts`."""
    bots = [player_for_bot(game=league.game, bot=b) for b in anchor_bots(league.game.name)]
    rows: dict[str, tuple[Player, Checkpoint, list[LeagueResult]]] = {}
    games: list[RatedGame] = []
    for seat, checkpoint in snapshot.items():
        me = player_for_checkpoint(checkpoint=checkpoint, search=league.eval_search)
        me_agent = player_agent(player=me, seat=seat)
        summaries = []
        for i, opponent in enumerate(bots):
            seed0 = (tick.number * 1_000_003 + member.pk * 10_007 + i * 101 + 7) % 2**31
            played = _play_pairing(league, seat, me_agent, player_agent(player=opponent, seed=seed0), seed0)
            summaries.append(_summary(tick, me, opponent, seat, played))
            games += _rated_games(league, seat, me, opponent, played)
        rows[seat] = (me, checkpoint, summaries)
    LeagueResult.objects.bulk_create([r for _, _, summaries in rows.values() for r in summaries])
    provisional = ratings_record(pool=league.game.name, games=games)
    fit = rating_fit_get(pool=league.game.name)
    return {
        f"{member.pk}:{seat}:mcts": {
            **_tick_row(member, checkpoint, summaries, fit.interval(me.pk), provisional.get(me.pk)),
            "label": me.label,
            "search": league.eval_search,
        }
        for seat, (me, checkpoint, summaries) in rows.items()
    }


def _pair_opponents(league: League, snapshot: dict[str, Checkpoint]) -> list[Player]:
    """The pool's agent versions (one player per version, this one left out), then every reference bot."""
    own = {(cp.agent_id, cp.version) for cp in snapshot.values()}
    seen, opponents = set(own), []
    for seat in league.game.seats:
        for player, _ in _pool(league, seat):
            if player.kind == Player.BOT:
                continue
            version = (player.checkpoint.agent_id, player.checkpoint.version)
            if version not in seen:
                seen.add(version)
                opponents.append(player)
    return opponents + [player_for_bot(game=league.game, bot=b) for b in anchor_bots(league.game.name)]


def _evaluation_opponents(league: League, seat: str) -> list[Player]:
    """The pool's snapshots in the other seats, then every reference bot."""
    opponents = [p for p, _ in _pool(league, seat) if p.kind != Player.BOT]
    return opponents + [player_for_bot(game=league.game, bot=b) for b in anchor_bots(league.game.name)]


def _summary(
    tick: LeagueTick, me: Player, opponent: Player, seat: str, played: list[MatchResult]
) -> LeagueResult:
    wins = sum(r.winner == seat for r in played)
    draws = sum(r.winner is None for r in played)
    losses = len(played) - wins - draws
    return LeagueResult(
        tick=tick, player=me, opponent=opponent, seat=seat, wins=wins, draws=draws, losses=losses
    )


def _tick_row(
    member: LeagueMember,
    checkpoint: Checkpoint,
    summaries: list[LeagueResult],
    elo: tuple[float, float, float] | None,
    provisional: Rating | None,
) -> dict[str, Any]:
    """What the tick stores and publishes for one member's seat: its record per opponent and rating."""
    return {
        "member": member.pk,
        "agent": member.agent.name,
        "seat": checkpoint.seat,
        "checkpoint": checkpoint.pk,
        "label": checkpoint.label,
        "env_steps": checkpoint.env_steps,
        "vs": {r.opponent.label: [r.wins, r.draws, r.losses] for r in summaries},
        "rating": elo[0] if elo else None,
        "rating_interval": [elo[1], elo[2]] if elo else None,
        "provisional": display_elo(provisional.mu) if provisional else None,
        "provisional_sigma": display_sigma(provisional.sigma) if provisional else None,
    }


def _play_pairing(
    league: League, seat: str, me: marl.agents.Agent, opponent: marl.agents.Agent, seed0: int
) -> list[MatchResult]:
    """`eval_games` batched games with the learner in `seat` and the opponent everywhere else, each from
    its own random opening (a checkpoint plays only the seat it learned, so seats are not swapped). In
    poker, poker matches (each deal played once, the learner in its seat), POKER_EVAL_MATCHES at most."""
    game = league.game.name
    seeds = [seed0 + g for g in range(_eval_units(league, league.eval_games))]
    if poker_game_is(game):
        others = {s: opponent for s in league.game.seats if s != seat}
        return [g.result for g in entrants_play(game, {seat: me}, others, seeds)]
    agents = {s: (me if s == seat else opponent) for s in league.game.seats}
    openings = [opening_for_seed(game, seed) for seed in seeds]
    return play_matches(game, agents, seeds, openings=openings)


def _eval_units(league: League, units: int) -> int:
    """Evaluation units per opponent: `units`, in poker (a unit is a whole match) at most
    POKER_EVAL_MATCHES."""
    return min(units, POKER_EVAL_MATCHES) if poker_game_is(league.game.name) else units


def _rated_games(
    league: League, seat: str, me: Player, opponent: Player, played: list[MatchResult]
) -> list[RatedGame]:
    first_seat, second_seat = league.game.seats[:2]
    first, second = (me, opponent) if seat == first_seat else (opponent, me)
    return [RatedGame(first, second, score_of(r.returns[first_seat], r.returns[second_seat])) for r in played]
