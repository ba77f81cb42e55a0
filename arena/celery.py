"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")

app = Celery("arena")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["arena"])


@task_prerun.connect
def _periodic_task_started(task: Any = None, **_: Any) -> None:
    # Imported here: arena.beat needs Django's apps, which are ready once a task runs.
    from arena.beat import periodic_task_started

    periodic_task_started(task=task)
