"""Memory of a Celery worker over many consecutive training runs, with and without child recycling.

    python bench/bench_worker_memory.py                                  # the settings value (20)
    python bench/bench_worker_memory.py --max-tasks-per-child 20 0       # side by side; 0 = never recycle
    python bench/bench_worker_memory.py --runs 10

A throwaway Arena (temp SQLite, media, Redis database 6) and one real `celery worker` subprocess per
setting (prefork, concurrency 1, queues celery,training, CELERY_WORKER_MAX_TASKS_PER_CHILD from the
flag). Then `--runs` tiny training runs, one after another (each waits for the previous to finish), each
for a fresh agent so every run does the same work. After each run: the RSS of the pool child that ran it
and of the whole worker process tree (psutil). At the end: max, growth from run 5 to the last, and
whether it stayed bounded. Bounded: every run is given up after `--run-timeout`; the worker is stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = {"env_steps": 256, "steps_per_epoch": 128, "num_envs": 2, "eval_games": 2}
NO_RECYCLING = 10**9  # settings refuse 0 (minimum 1): a limit no run reaches means "never recycle"
MB = 1024 * 1024


def rss(pid: int) -> tuple[int | None, float, float]:
    """(pool child pid, its RSS in MB, RSS of the worker and all its descendants in MB)."""
    try:
        main = psutil.Process(pid)
        children = main.children(recursive=True)
        tree = main.memory_info().rss
    except psutil.NoSuchProcess:
        return None, float("nan"), float("nan")
    child_pid, child_rss = None, float("nan")
    for proc in children:
        try:
            size = proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        tree += size
        alive = proc.status() != psutil.STATUS_ZOMBIE  # a recycled child lingers until it is reaped
        if alive and proc.ppid() == pid and child_pid is None:  # the prefork pool process (-c 1)
            child_pid, child_rss = proc.pid, size / MB
    return child_pid, child_rss, tree / MB


def one_setting(work: Path, user, max_tasks: int, runs: int, run_timeout: float) -> dict:
    from arena.celery import app
    from arena.models import TrainingRun
    from arena.services.agents import agent_create
    from arena.services.training import training_run_create

    app.control.purge()
    log = work / f"worker-{max_tasks}.log"
    process = _arena_env.start_worker(
        name=f"mem{max_tasks}",
        log=log,
        env={"CELERY_WORKER_MAX_TASKS_PER_CHILD": str(max_tasks or NO_RECYCLING)},
    )
    label = "no recycling" if max_tasks == 0 else f"max-tasks-per-child {max_tasks}"
    print(f"\n== {label} (worker pid {process.pid}, log {log})")
    print(
        f"{'run':>4} {'status':>10} {'secs':>6} {'peak child MB':>14} {'peak tree MB':>13} "
        f"{'then: child pid':>16} {'child MB':>9} {'tree MB':>8}"
    )
    rows: list[tuple[float, float, float, float]] = []
    try:
        for i in range(1, runs + 1):
            agent = agent_create(owner=user, game="tictactoe", name=f"mem-{max_tasks}-{i}", algorithm="dqn")
            run = training_run_create(user=user, agent_id=agent.pk, config={**TINY, "seed": i})
            started = time.monotonic()
            peak_child = peak_tree = 0.0
            while time.monotonic() - started < run_timeout:
                _, child_mb, tree_mb = rss(process.pid)  # sampled while it trains: the peak is the cost
                peak_child, peak_tree = max(peak_child, child_mb), max(peak_tree, tree_mb)
                run.refresh_from_db()
                if run.status not in TrainingRun.ACTIVE or process.poll() is not None:
                    break
                time.sleep(0.2)
            if run.status in TrainingRun.ACTIVE:
                print(f"{i:>4} still {run.status} after {run_timeout:g} s (worker rc {process.poll()}): stop")
                break
            seconds = time.monotonic() - started
            time.sleep(0.5)  # the task returns just after the row is final: measure once it is idle
            child, child_mb, tree_mb = rss(process.pid)
            peak_child, peak_tree = max(peak_child, child_mb), max(peak_tree, tree_mb)
            rows.append((peak_child, peak_tree, child_mb, tree_mb))
            print(
                f"{i:>4} {run.status:>10} {seconds:6.1f} {peak_child:14.1f} {peak_tree:13.1f} "
                f"{child or '-':>16} {child_mb:9.1f} {tree_mb:8.1f}",
                flush=True,
            )
    finally:
        _arena_env.stop_worker(process)
    return {"label": label, "rows": rows}


def summary(result: dict) -> str:
    rows = result["rows"]
    if len(rows) < 6:
        return f"{result['label']}: only {len(rows)} runs finished, too few to judge"
    child = [r[0] for r in rows]
    tree = [r[1] for r in rows]
    # Peaks while training (max() skips NaN samples). Bounded: after warm-up (run 5) no later run's peak
    # of the whole tree is 10 % above run 5's, so memory does not creep with the number of runs.
    last = len(rows)
    worst_after = max(tree[5:]) - tree[4]
    bounded = worst_after < 0.10 * tree[4]
    return (
        f"{result['label']:<22} runs {last:>3}  max: child {max(child):6.1f} MB, tree {max(tree):6.1f} MB  "
        f"growth run 5 -> {last}: child {child[-1] - child[4]:+6.1f} MB, tree {tree[-1] - tree[4]:+6.1f} MB  "
        f"(worst later run vs run 5: tree {worst_after:+6.1f} MB)  bounded (<10 %): {'yes' if bounded else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--max-tasks-per-child",
        type=int,
        nargs="+",
        default=None,
        help="one or more settings to compare; 0 = never recycle (default: the settings value)",
    )
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds before a run is given up")
    args = parser.parse_args()

    os.environ["ARENA_RATE_TRAINING"] = "100000"  # 50 submissions in minutes: not the rate limit's test
    work = _arena_env.setup("memory", redis_db=6)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="bench-memory")
    settings_values = args.max_tasks_per_child or [settings.CELERY_WORKER_MAX_TASKS_PER_CHILD]
    print(
        f"bench-worker-memory: {args.runs} consecutive training runs {TINY} on tictactoe (DQN), one prefork "
        f"worker (-c 1) per setting {settings_values}; data in {work}"
    )
    results = [one_setting(work, user, value, args.runs, args.run_timeout) for value in settings_values]
    print()
    for result in results:
        print(summary(result))


if __name__ == "__main__":
    main()
