"""`manage.py seed_demo`: the demo agent, its training run and a first live match (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from arena.services.demo import demo_seed


class Command(BaseCommand):
    help = "Seed the demo: a tic-tac-toe agent training and live matches on the dashboard."

    def handle(self, *args, **options) -> None:
        if not settings.ARENA_DEMO:
            self.stdout.write("ARENA_DEMO is off; nothing seeded.")
            return
        agents = demo_seed()
        names = ", ".join(agent.name for agent in agents)
        self.stdout.write(self.style.SUCCESS(f"demo ready: agents {names} training and playing"))
