"""Admin for matches and their seats."""

from django.contrib import admin

from arena.models import Match, MatchSeat


class MatchSeatInline(admin.TabularInline):
    model = MatchSeat
    extra = 0


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "game", "status", "winner", "reason", "rated", "created_at"]
    list_filter = ["game", "status"]
    inlines = [MatchSeatInline]
