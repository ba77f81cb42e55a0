"""Admin for training runs: their lease and attempts are read-only, the workers own them."""

from django.contrib import admin

from arena.models import TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "agent", "status", "env_steps_done", "env_steps_total", "attempts", "lease_owner"]
    list_filter = ["status"]
    readonly_fields = ["lease_owner", "heartbeat_at", "attempts", "dispatched_at", "latest_stats"]
