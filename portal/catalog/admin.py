from django.contrib import admin

from portal.audit.admin_audit import AuditedAdminMixin
from portal.catalog.models import Agent, Environment, EnvironmentSync, NodePool, Placement, Team
from portal.catalog.services import ENVIRONMENT_EDITABLE
from portal.costs import services as cost_services


class NodePoolInline(admin.TabularInline):
    model = NodePool
    extra = 0


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Settings and approval policy are read-only here: they change on the portal's own Edit settings page,
    which refuses stale saves. Every other change made here is audited."""

    list_display = ("name", "tier", "region", "redis_sku", "monthly_budget", "approvals_required")
    inlines = [NodePoolInline]
    audit_name = "environment"

    def get_readonly_fields(self, request, obj=None):
        return ENVIRONMENT_EDITABLE if obj is not None else ()

    # Its cost rows go with it (cascade); the totals across environments of the months it had are summed again.
    def delete_model(self, request, obj):
        months = cost_services.cost_months_of(environment=obj)
        super().delete_model(request, obj)
        cost_services.cost_environment_removed(months=months)

    def delete_queryset(self, request, queryset):
        months = [month for env in queryset for month in cost_services.cost_months_of(environment=env)]
        super().delete_queryset(request, queryset)
        cost_services.cost_environment_removed(months=months)


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "email")


@admin.register(Agent)
class AgentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "domain", "owner_team")
    list_filter = ("domain", "owner_team")
    search_fields = ("slug", "display_name")


@admin.register(Placement)
class PlacementAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("agent", "environment", "redis_db", "status")
    list_filter = ("environment", "status")
    list_select_related = ("agent", "environment")


@admin.register(EnvironmentSync)
class EnvironmentSyncAdmin(admin.ModelAdmin):
    list_display = ("environment", "status", "requested_at", "finished_at")
    readonly_fields = [f.name for f in EnvironmentSync._meta.fields]
