"""Admin for ratings and the events that changed them."""

from django.contrib import admin

from arena.models import Rating, RatingEvent


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["player", "pool", "mu", "sigma", "games", "updated_at"]
    list_filter = ["pool"]


admin.site.register(RatingEvent)
