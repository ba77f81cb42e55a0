"""Admin for tournaments and leagues. Saving a league here re-syncs its beat schedule."""

from django.contrib import admin

from arena.models import (
    League,
    LeagueMember,
    LeagueSnapshot,
    LeagueTick,
    Tournament,
    TournamentEntry,
    TournamentRound,
)


class TournamentEntryInline(admin.TabularInline):
    model = TournamentEntry
    extra = 0


@admin.register(Tournament)
class TournamentAdmin(admin.ModelAdmin):
    list_display = ["pk", "name", "game", "format", "status", "games_per_pair", "batch_size", "created_at"]
    list_filter = ["game", "format", "status"]
    readonly_fields = ["table"]
    inlines = [TournamentEntryInline]


@admin.register(TournamentRound)
class TournamentRoundAdmin(admin.ModelAdmin):
    list_display = ["tournament", "number", "status", "created_at", "completed_at"]


class LeagueMemberInline(admin.TabularInline):
    model = LeagueMember
    extra = 0


@admin.register(League)
class LeagueAdmin(admin.ModelAdmin):
    list_display = ["name", "game", "owner", "status", "interval_seconds", "env_steps_per_tick", "tick_count"]
    list_filter = ["game", "status"]
    readonly_fields = ["tick_count", "lease_owner", "lease_until", "last_tick_at", "periodic_task"]
    inlines = [LeagueMemberInline]

    def save_model(self, request, obj, form, change) -> None:
        from arena.services.leagues import league_schedule_sync

        super().save_model(request, obj, form, change)
        league_schedule_sync(league=obj)


@admin.register(LeagueTick)
class LeagueTickAdmin(admin.ModelAdmin):
    list_display = ["league", "number", "status", "worker", "started_at", "finished_at"]
    list_filter = ["league", "status"]


admin.site.register(LeagueSnapshot)
