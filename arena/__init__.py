"""Arena: the Django project and app (web, Channels consumers, Celery tasks)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
