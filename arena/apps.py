from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_games(sender, **kwargs) -> None:
    from arena.services.games import game_sync

    game_sync()


class ArenaConfig(AppConfig):
    name = "arena"
    verbose_name = "Arena"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Game rows mirror marl's registry; every migrate (tests included) brings them up to date.
        post_migrate.connect(_sync_games, sender=self, dispatch_uid="arena-sync-games")
