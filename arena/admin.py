"""Admin: every model browsable; leagues' schedules are edited through django-celery-beat's admin."""

from django.contrib import admin

from arena.models import Agent, Checkpoint, Game, Match, MatchSeat, Player, Rating, RatingEvent, TrainingRun


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "env_id", "render_hint"]


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    extra = 0
    fields = ["seat", "version", "env_steps", "sha256", "created_at"]
    readonly_fields = fields


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "game", "algorithm", "seat", "created_at"]
    list_filter = ["game", "algorithm"]
    search_fields = ["name", "owner__username"]
    inlines = [CheckpointInline]


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["__str__", "agent", "seat", "version", "env_steps", "created_at"]
    list_filter = ["agent__game", "seat"]
    readonly_fields = ["sha256", "path", "parent", "training_run"]


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "agent", "status", "env_steps_done", "env_steps_total", "attempts", "lease_owner"]
    list_filter = ["status"]
    readonly_fields = ["lease_owner", "heartbeat_at", "attempts", "dispatched_at", "latest_stats"]


class MatchSeatInline(admin.TabularInline):
    model = MatchSeat
    extra = 0


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "game", "status", "winner", "reason", "rated", "created_at"]
    list_filter = ["game", "status"]
    inlines = [MatchSeatInline]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "game", "kind"]
    list_filter = ["game", "kind"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["player", "pool", "mu", "sigma", "games", "updated_at"]
    list_filter = ["pool"]


admin.site.register(RatingEvent)

# Tournaments and leagues live in their own module; importing it registers them.
import arena.admin_competitions  # noqa: E402, F401
