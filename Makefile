# Arena: `make run` brings everything up on this machine, `make test` checks everything.
# Every command goes through the virtual environment in $(VENV), created from $(PY) when missing.

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
# Reinstall only when a requirements file changes (or the venv is new): requirements.txt is what
# the arena runs on, requirements-dev.txt adds the test and lint tools.
STAMP := $(VENV)/.requirements.stamp
DEV_STAMP := $(VENV)/.requirements-dev.stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev install-browser install-engines run test test-postgres test-marl test-arena test-launcher test-e2e lint format \
	bench bench-strength bench-train bench-train-watch bench-match bench-live bench-play bench-league bench-tournament \
	bench-worker-memory bench-load bench-ratings bench-selfplay bench-bigboards bench-poker redis-stop clean distclean

help: ## List the targets
	@echo "Arena make targets (PY=$(PY), VENV=$(VENV)):"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PYTHON):
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Arena needs Python 3.11+; $(PY) is " + sys.version.split()[0] + ". Try: make PY=python3.11 ...")'
	$(PY) -m venv $(VENV)

$(STAMP): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PYTHON)
	$(PYTHON) -m pip install -r requirements-dev.txt
	@touch $(STAMP) $@

install: $(STAMP) ## Create the venv and install requirements.txt (again only when it changes)

install-dev: $(DEV_STAMP) ## Also the test and lint tools of requirements-dev.txt (again when either file changes)

install-browser: ## Debian chromium + chromium-driver for the browser tests (apt-get, as root)
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: /usr/bin/chromium"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian chromium ..."; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; } || \
		echo "WARNING: apt-get could not install chromium; the browser tests (tests/e2e) will be skipped"; \
	else \
		echo "install-browser: /usr/bin/chromium is missing and apt-get cannot be used here (not root, or not Debian)."; \
		echo "  On Debian/Ubuntu run: sudo apt-get install chromium chromium-driver"; \
		echo "  The browser tests (tests/e2e) need it; the rest of the suite does not."; \
	fi

# Debian puts game engines in /usr/games; the code looks there as well as on PATH.
install-engines: ## Debian gnugo + stockfish, the reference engines (apt-get, as root)
	@missing=""; for e in gnugo stockfish; do \
		if command -v $$e >/dev/null 2>&1 || [ -x /usr/games/$$e ]; then \
			echo "$$e: $$(command -v $$e 2>/dev/null || echo /usr/games/$$e)"; \
		else missing="$$missing $$e"; fi; \
	done; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian$$missing ..."; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } || \
		echo "WARNING: apt-get could not install$$missing; the engine tests will be skipped"; \
	else \
		echo "install-engines:$$missing missing and apt-get cannot be used here (not root, or not Debian)."; \
		echo "  On Debian/Ubuntu run: sudo apt-get install$$missing"; \
		echo "  The engine players (gnugo:L, stockfish:L) and their tests need them; the rest does not."; \
	fi

run: install ## Start Redis (if needed), migrate, seed the demo, then the Procfile's web + worker + beat
	$(PYTHON) -m launcher

test: install-dev install-browser install-engines ## Django checks, migrations up to date, the whole suite (on DATABASE_URL when set)
	@$(PYTHON) -c 'import os; from launcher.redis_urls import redact; print("database:", redact(os.environ.get("DATABASE_URL") or "SQLite"))'
	$(PYTHON) manage.py check
	$(PYTHON) manage.py makemigrations --check --dry-run
	$(BIN)/pytest tests $(PYTEST_ARGS)

PG_TESTS ?= tests/arena
test-postgres: install-dev ## The Django side on PostgreSQL: DATABASE_URL=postgres://... make test-postgres [PG_TESTS=tests]
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; *) echo "test-postgres: set DATABASE_URL=postgres://user:password@host:5432/name"; exit 2;; esac
	$(PYTHON) manage.py check --database default
	$(BIN)/pytest $(PG_TESTS) $(PYTEST_ARGS)

test-marl: install-dev ## Tests of the game and learning core
	$(BIN)/pytest tests/marl $(PYTEST_ARGS)

test-arena: install-dev ## Tests of the Django side
	$(BIN)/pytest tests/arena $(PYTEST_ARGS)

test-launcher: install-dev ## Tests of the local launcher (make run, the embedded Redis)
	$(BIN)/pytest tests/launcher $(PYTEST_ARGS)

test-e2e: install-dev install-browser ## Browser tests (headless chromium)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

lint: install-dev ## ruff check + ruff format --check, and every browser module parses (node --check, when node is here)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if command -v node >/dev/null 2>&1; then \
		for f in arena/static/arena/*.js; do node --check --input-type=module < $$f || { echo "lint: $$f does not parse"; exit 1; }; done; \
		echo "browser modules parse: $$(ls arena/static/arena/*.js | wc -l) files"; \
	else echo "lint: node not found; browser modules not syntax-checked"; fi

format: install-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: bench-train bench-match bench-live bench-play bench-tournament bench-strength bench-league bench-worker-memory bench-load ## Run every benchmark (about an hour)

bench-strength: install ## Strength of trained agents against the reference bots
	$(PYTHON) bench/bench_strength.py

bench-selfplay: install ## Strength from self-play alone: tic-tac-toe 10 min, connect four MINUTES (default 30)
	$(PYTHON) bench/bench_selfplay.py --minutes $(or $(MINUTES),30) $(if $(CLOCK),--clock $(CLOCK))

bench-bigboards: install ## Go 9x9 and chess by pure self-play for MINUTES (default 30) each: final checkpoints vs random and the weakest engines
	$(PYTHON) bench/bench_bigboards.py --minutes $(or $(MINUTES),30) $(if $(CLOCK),--clock $(CLOCK))

bench-poker: install ## Poker by self-play: Leduc exploitability over MINUTES (default 30), limit hold'em mbb/hand
	$(PYTHON) bench/bench_poker.py --minutes $(or $(MINUTES),30) $(if $(CLOCK),--clock $(CLOCK))

bench-train: install ## Training speed (env steps per second)
	$(PYTHON) bench/bench_train_speed.py

bench-train-watch: install ## What the run page's sampled training games cost training
	$(PYTHON) bench/bench_train_watch.py

bench-match: install ## Match throughput, one by one vs batched
	$(PYTHON) bench/bench_match.py

bench-live: install ## Live game latency through Channels
	$(PYTHON) bench/bench_live.py

bench-league: install ## A tic-tac-toe league of 2 DQN agents (MINUTES=10): per tick W/D/L vs minimax, rating
	$(PYTHON) bench/bench_league.py --minutes $(or $(MINUTES),10)

bench-ratings: install ## Openings vary games; interval coverage, SPRT error rates, LLR vs fishtest, perfect-play analysis
	$(PYTHON) bench/bench_ratings.py

bench-tournament: install ## 1,000 matches through Celery end to end vs in one process
	$(PYTHON) bench/bench_tournament.py

bench-play: install ## 50 people play connect four vs a checkpoint over WebSockets: reply p99, moves/s on 1 and 2 web processes
	$(PYTHON) bench/bench_play.py --compare-web 1,2

bench-worker-memory: install ## Worker RSS over 50 training runs: MAX_TASKS (default 20) per child vs never recycled
	$(PYTHON) bench/bench_worker_memory.py --max-tasks-per-child $(or $(MAX_TASKS),20) 0

bench-load: install ## 500 spectators + 50 people + training + matches + page loads at once, then a reconnect storm
	$(PYTHON) bench/bench_load.py

redis-stop: ## Stop embedded Redis servers left running (by `make run` or an interrupted test run)
	@if [ -x $(PYTHON) ]; then \
		$(PYTHON) -m launcher.redis_server stop --data-dir var/redis; \
		$(PYTHON) -m launcher.redis_server stop --data-dir var/redis-test; \
	fi

clean: redis-stop ## Remove caches and embedded Redis files (keeps the database, media and the venv)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis var/redis var/redis-test var/run

distclean: clean ## Also remove the venv, var/ (SQLite database, media, static files) and artifacts/
	rm -rf $(VENV) var media artifacts
