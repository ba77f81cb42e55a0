"""Admin: every model browsable, one module per models module; leagues' schedules are edited through
django-celery-beat's admin. Importing the modules registers their models."""

from arena.admin import agents, competitions, matches, ratings, training  # noqa: F401
