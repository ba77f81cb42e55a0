"""Arena's Django settings, read from environment variables.

Every variable is listed in `.env.example`. Bad values fail loudly at start-up rather than later.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not (value >= minimum) or value == float("inf"):
        raise ImproperlyConfigured(f"{name}={raw!r} must be a finite number of at least {minimum}")
    return value


def env_str(name: str, default: str) -> str:
    """The variable's value; an empty value counts as unset (as `VAR=` in a .env file means)."""
    return os.environ.get(name) or default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
_INSECURE_KEY = "django-insecure-arena-development-key-change-me"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _INSECURE_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "channels",
    "arena",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content-Security-Policy: scripts, styles and sockets from this site only; no inline script, no frames.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # the admin's and the boards' inline styles
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # CSP 3: 'self' covers this site's ws: and wss: too
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "arena.urls"
ASGI_APPLICATION = "arena.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default (the embedded setup); DATABASE_URL switches to PostgreSQL.
_DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'arena.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL,
        # Reuse a connection for a minute: every socket message is a short DB call (Channels closes
        # an expired connection after each), and opening one each time costs a PostgreSQL server
        # process and a handshake (a resync flood slowed a player's replies 5x) or, on SQLite, a fresh
        # connection's setup and an empty page cache (about a tenth of a human move's CPU). Checked
        # before reuse, so a restarted server costs one error-free reconnect.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers, beat and the web process write concurrently: WAL and a busy timeout avoid "database is locked".
    # synchronous=NORMAL is safe with WAL (a power cut may lose the last commits, never corrupt the
    # file) and saves a disk sync per commit: every move of a human game is a commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory: worker processes started by the tests open the same test database.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str(
        "ARENA_TEST_DB", str(BASE_DIR / "var" / "test-arena.sqlite3")
    )
    (BASE_DIR / "var").mkdir(exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "dashboard"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = DEBUG

# Checkpoint files live here; rows hold paths relative to it.
MEDIA_ROOT = Path(env_str("ARENA_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ARENA_UPLOAD_MAX_BYTES", 16 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# The largest request body outside the checkpoint import routes, refused by `arena.bodylimit` with
# 413 before it is read (forms and JSON bodies are a few KB).
# WebSockets one process holds per client address and per signed-in user (one more is closed, 4429).
ARENA_WS_PER_IP = env_int("ARENA_WS_PER_IP", 50, minimum=1)
ARENA_WS_PER_USER = env_int("ARENA_WS_PER_USER", 20, minimum=1)
ARENA_BODY_MAX_BYTES = env_int("ARENA_BODY_MAX_BYTES", 1024 * 1024, minimum=1024)

# Redis: broker, channel layer and cache. `make run` (the launcher) and the test suite resolve it (local
# server, else an embedded one) and export REDIS_URL before this module is read.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, the same as channels-redis's
            # blocking BZPOPMIN: under load the read timed out and the consumer died (close 1011).
            # The health check re-validates pooled connections, so a Redis restart costs no failed send.
            # redis-py 8's async pool holds at most 100 connections and then raises at once: in a
            # reconnect storm (bench/bench_load.py, 500 sockets) group_add failed and sockets closed 1011.
            # Connections open only on demand, so a higher ceiling costs nothing while idle.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 30,
                    "health_check_interval": 15,
                    "max_connections": 1000,
                }
            ],
            "prefix": os.environ.get("ARENA_CHANNEL_PREFIX", "arena"),
            "capacity": 1000,
            "expiry": 30,
        },
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Celery: JSON only, late acks for training so a killed worker's run is redelivered; the lease row
# (TrainingRun.lease_owner/heartbeat_at) makes sure a redelivered run never trains twice at once.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 20, minimum=1)
ARENA_TRAINING_SOFT_TIME_LIMIT = env_int("ARENA_TRAINING_SOFT_TIME_LIMIT", 6 * 3600, minimum=10)
# Longer than any task, so Redis never redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": ARENA_TRAINING_SOFT_TIME_LIMIT + 3600}
# Play never waits behind training: games (matches, tournament batches and their advance) and
# training (runs, league ticks) have queues of their own, served by workers of their own (the
# Procfile's worker-games takes games, celery and evaluation, worker-training takes training).
# `celery` keeps the short periodic tasks (reapers, the demo tick), which only queue games; calibration,
# strength and gating games wait in `evaluation`, behind nothing people watch.
CELERY_TASK_ROUTES = {
    "arena.tasks.train_run": {"queue": "training"},
    "arena.tasks.league_tick": {"queue": "training"},
    "arena.tasks.play_match": {"queue": "games"},
    "arena.tasks.tournament_play_batch": {"queue": "games"},
    "arena.tasks.tournament_advance": {"queue": "games"},
    "arena.tasks.human_game_rate": {"queue": "games"},
    "arena.tasks.checkpoint_calibrate": {"queue": "evaluation"},
    "arena.tasks.checkpoint_strength": {"queue": "evaluation"},
    "arena.tasks.checkpoint_exploitability": {"queue": "evaluation"},
    "arena.tasks.league_gate": {"queue": "evaluation"},
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Declared so a plain `celery worker` consumes them all, and purge empties them all.
CELERY_TASK_QUEUES = [Queue("games"), Queue("celery"), Queue("training"), Queue("evaluation")]
# Beat sends a periodic task only when its previous message has been taken off the queue, and every
# message expires after its period, so a busy worker never finds a backlog of ticks (arena.beat).
CELERY_BEAT_SCHEDULER = "arena.beat:QueueBoundScheduler"

# Arena's own knobs.
# Calibration: a new checkpoint plays until its rating interval is this narrow (+- Elo) or the budget is spent.
ARENA_CALIBRATION_HALF_WIDTH = env_float("ARENA_CALIBRATION_HALF_WIDTH", 50.0, minimum=1.0)
ARENA_CALIBRATION_GAMES = env_int("ARENA_CALIBRATION_GAMES", 200, minimum=2)
ARENA_CALIBRATION_BATCH_PAIRS = env_int("ARENA_CALIBRATION_BATCH_PAIRS", 10, minimum=1)
ARENA_STRENGTH_PAIRS = env_int("ARENA_STRENGTH_PAIRS", 10, minimum=1)  # per rung of the alpha-beta ladder
ARENA_GATE_BATCH_PAIRS = env_int("ARENA_GATE_BATCH_PAIRS", 16, minimum=1)
ARENA_MAX_RUNS_PER_USER = env_int("ARENA_MAX_RUNS_PER_USER", 2, minimum=1)
# The largest network (in weights) an agent may ask for: a spec is counted, never built, to check it.
ARENA_MAX_NETWORK_PARAMETERS = env_int("ARENA_MAX_NETWORK_PARAMETERS", 2_000_000, minimum=1000)
# The most matches one tournament may play, and the shortest interval between a league's ticks.
ARENA_MAX_TOURNAMENT_MATCHES = env_int("ARENA_MAX_TOURNAMENT_MATCHES", 500, minimum=1)
# The most hands one poker match between agents may play (a match of a tournament included).
ARENA_MAX_POKER_HANDS = env_int("ARENA_MAX_POKER_HANDS", 2000, minimum=2)
ARENA_LEAGUE_MIN_INTERVAL = env_int("ARENA_LEAGUE_MIN_INTERVAL", 60, minimum=1)
ARENA_MAX_TRAIN_STEPS = env_int("ARENA_MAX_TRAIN_STEPS", 2_000_000, minimum=100)
# The largest search budget a player may carry (`checkpoint:<id> + mcts:N`, `bot:mcts:N`): a human game
# searches under the match's row lock, a tournament for every move of every game.
ARENA_MAX_SEARCH_SIMULATIONS = env_int("ARENA_MAX_SEARCH_SIMULATIONS", 800, minimum=1)
ARENA_MOVE_DELAY = env_float("ARENA_MOVE_DELAY", 0.5)
ARENA_LEASE_SECONDS = env_int("ARENA_LEASE_SECONDS", 60, minimum=2)
ARENA_HEARTBEAT_SECONDS = env_float("ARENA_HEARTBEAT_SECONDS", 10.0, minimum=0.1)
ARENA_QUEUED_REDISPATCH_SECONDS = env_int("ARENA_QUEUED_REDISPATCH_SECONDS", 120, minimum=1)
ARENA_DEMO = env_bool("ARENA_DEMO", True)
ARENA_MAX_OPEN_GAMES = env_int("ARENA_MAX_OPEN_GAMES", 5, minimum=1)
# Poker: whether a finished hand's replay may show a folded hand (never shown at the table).
ARENA_POKER_REPLAY_SHOWS_FOLDED = env_bool("ARENA_POKER_REPLAY_SHOWS_FOLDED", False)
ARENA_MOVES_PER_SECOND = env_int("ARENA_MOVES_PER_SECOND", 5, minimum=1)
# A running run plays one game of its current policy every so many seconds (0: never) for its page's
# board, shown at this many moves per second.
ARENA_TRAINING_WATCH_SECONDS = env_float("ARENA_TRAINING_WATCH_SECONDS", 5.0)
ARENA_TRAINING_WATCH_MOVES_PER_SECOND = env_float("ARENA_TRAINING_WATCH_MOVES_PER_SECOND", 3.0, minimum=0.1)
ARENA_ABANDON_SECONDS = env_int("ARENA_ABANDON_SECONDS", 15 * 60, minimum=10)
ARENA_MATCH_STALE_SECONDS = env_int("ARENA_MATCH_STALE_SECONDS", 120, minimum=5)
# Rate limits per minute (Redis cache, shared by all processes): failed logins per IP+username and per
# IP, API writes per user, training submissions per user, checkpoint imports per user.
ARENA_RATE_LOGIN_FAILURES = env_int("ARENA_RATE_LOGIN_FAILURES", 10, minimum=1)
# Addresses or networks of reverse proxies whose X-Forwarded-For is believed (comma-separated, e.g.
# "10.0.0.0/8,127.0.0.1"); empty: the peer's address is the client's.
ARENA_TRUSTED_PROXIES = env_list("ARENA_TRUSTED_PROXIES", "")
for _proxy in ARENA_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ARENA_TRUSTED_PROXIES: {_proxy!r} is not an address or network"
        ) from None
ARENA_RATE_SIGNUPS = env_int("ARENA_RATE_SIGNUPS", 5, minimum=1)  # per client address per hour
ARENA_RATE_LOGIN_IP_FAILURES = env_int("ARENA_RATE_LOGIN_IP_FAILURES", 50, minimum=1)
ARENA_RATE_API_WRITES = env_int("ARENA_RATE_API_WRITES", 60, minimum=1)
ARENA_RATE_TRAINING = env_int("ARENA_RATE_TRAINING", 10, minimum=1)
ARENA_RATE_IMPORTS = env_int("ARENA_RATE_IMPORTS", 10, minimum=1)
# Checkpoint import: the largest weights (or training state) file accepted, and the sidecar's bound.
ARENA_CHECKPOINT_UPLOAD_MAX_BYTES = env_int(
    "ARENA_CHECKPOINT_UPLOAD_MAX_BYTES", 64 * 1024 * 1024, minimum=1024
)
# Checkpoint files with no row (a worker killed between writing and recording) are deleted after this.
ARENA_ORPHAN_MINUTES = env_int("ARENA_ORPHAN_MINUTES", 60, minimum=1)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Behind plain http (a local compose stack) set DJANGO_SECURE_COOKIES=0, or logging in cannot work.
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ARENA_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

_REAP_SECONDS = env_float("ARENA_REAP_SECONDS", 30.0)
# `expire_seconds`: a tick that waited a whole period is dropped; the next one is on its way.
CELERY_BEAT_SCHEDULE = {
    name: {
        "task": f"arena.tasks.{task}",
        "schedule": every,
        "options": {"expire_seconds": max(1, round(every))},
    }
    for name, task, every in [
        ("reap-stuck-runs", "reap_stuck_runs", _REAP_SECONDS),
        ("demo", "demo_tick", 5.0),
        ("expire-abandoned-games", "expire_abandoned_games", 60.0),
        ("reap-stuck-matches", "reap_stuck_matches", 60.0),
        ("clean-checkpoint-orphans", "clean_checkpoint_orphans", 3600.0),
    ]
}
