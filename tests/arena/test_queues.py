"""Play never waits behind training: games and training have queues (and workers) of their own, and beat
never piles periodic tasks onto a queue whose worker is busy."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django_celery_beat.schedulers import DatabaseScheduler

from arena.beat import QueueBoundScheduler, queued_key
from arena.celery import app
from tests.arena.conftest import wait_until
from tests.factories import LeagueFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = ("games", "celery", "training")
BEATS = 30  # as many rounds as beat would send in 2.5 minutes of the demo's 5-second tick


def _route(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_games_and_training_are_routed_to_queues_of_their_own() -> None:
    games = ["play_match", "tournament_play_batch", "tournament_advance"]
    training = ["train_run", "league_tick"]
    assert {_route(f"arena.tasks.{name}") for name in games} == {"games"}
    assert {_route(f"arena.tasks.{name}") for name in training} == {"training"}
    assert _route("arena.tasks.demo_tick") == "celery"  # short; it only queues games


MARKS = f"*{queued_key('')}*"  # the cache prefixes its keys


@pytest.fixture
def broker(redis_url: str) -> Iterator[redis.Redis]:
    """The broker's Redis (the cache's too), with every queue and every beat mark empty before and after."""
    client = redis.Redis.from_url(redis_url)

    def empty() -> None:
        app.amqp.queues.select(QUEUES)  # a worker started in this process narrows what purge empties
        app.control.purge()
        for key in client.scan_iter(match=MARKS):
            client.delete(key)

    empty()
    yield client
    empty()
    client.close()


def _queue_length(client: redis.Redis, queue: str) -> int:
    """Messages waiting in `queue` (kombu keeps one Redis list per queue and priority step)."""
    return sum(
        int(client.llen(key)) for key in client.scan_iter(match=f"{queue}*") if client.type(key) == b"list"
    )


def _beat(scheduler: DatabaseScheduler, rounds: int) -> None:
    """Send every entry `rounds` times, as beat does each time one falls due."""
    for _ in range(rounds):
        for entry in list(scheduler.schedule.values()):
            scheduler.apply_entry(entry)
        time.sleep(0.05)


def _scheduler(kind: type[DatabaseScheduler]) -> DatabaseScheduler:
    LeagueFactory(interval_seconds=60)  # its PeriodicTask sends league ticks to the training queue
    return kind(app=app)


def _training_message(client: redis.Redis) -> dict:
    return json.loads(client.lindex("training", 0))


def test_an_idle_arena_with_a_busy_training_worker_keeps_every_queue_bounded(broker, settings) -> None:
    settings.ARENA_DEMO = False  # the demo's matches are not what this measures
    scheduler = _scheduler(QueueBoundScheduler)
    with start_worker(
        app,
        pool="threads",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["games", "celery"],
    ):
        # Nobody takes from `training`: its worker is busy training, for hours.
        _beat(scheduler, BEATS)
        lengths = {queue: _queue_length(broker, queue) for queue in QUEUES}
        assert lengths["training"] == 1, lengths  # one league tick waits; the next ones were held back
        assert lengths["games"] == 0
        wait_until(lambda: _queue_length(broker, "celery") == 0, timeout=60, message="the games worker")
        wait_until(lambda: len(list(broker.scan_iter(match=MARKS))) == 1, timeout=60, message="marks cleared")
    # The games worker took every periodic message, so beat sends each again; the league tick still waits.
    _beat(scheduler, 1)
    short = [entry for entry in scheduler.schedule.values() if entry.task != "arena.tasks.league_tick"]
    assert _queue_length(broker, "celery") == len(short) >= 5
    assert _queue_length(broker, "training") == 1
    league_tick = _training_message(broker)["headers"]
    assert league_tick["task"] == "arena.tasks.league_tick"
    assert league_tick["expires"], "a league tick that waited a whole interval must expire"


def test_without_the_bound_a_busy_training_worker_finds_a_backlog(broker) -> None:
    """The measure above can fail: the plain database scheduler queues a tick every time."""
    _beat(_scheduler(DatabaseScheduler), BEATS)
    assert _queue_length(broker, "training") == BEATS
