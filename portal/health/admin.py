from django.contrib import admin

from portal.health.models import HealthCheck, HealthResult


@admin.register(HealthCheck)
class HealthCheckAdmin(admin.ModelAdmin):
    """Read-only: the scheduled checks write these rows."""

    list_display = ("environment", "kind", "label", "state", "state_since", "checked_at", "alert_status", "active")
    list_filter = ("environment", "kind", "state", "alert_status", "active")
    search_fields = ("label", "target")
    list_select_related = ("environment",)
    readonly_fields = [f.name for f in HealthCheck._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(HealthResult)
class HealthResultAdmin(admin.ModelAdmin):
    list_display = ("health_check", "state", "summary", "checked_at")
    list_filter = ("state",)
    list_select_related = ("health_check__environment",)
    readonly_fields = [f.name for f in HealthResult._meta.fields]

    def has_add_permission(self, request):
        return False
