"""Admin for games, agents, their checkpoints and players."""

from django.contrib import admin

from arena.models import Agent, Checkpoint, Game, Player


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


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "game", "kind"]
    list_filter = ["game", "kind"]
