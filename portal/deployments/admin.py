from django.contrib import admin

from portal.deployments.models import SandboxFault


@admin.register(SandboxFault)
class SandboxFaultAdmin(admin.ModelAdmin):
    """The sandbox cloud's injected failures and slowdowns (README, "Sandbox faults")."""

    list_display = ("match", "kind", "code", "factor", "enabled")
    list_filter = ("kind", "enabled")
    list_editable = ("enabled",)
    search_fields = ("match", "code", "message")
