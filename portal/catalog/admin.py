from django.contrib import admin

from portal.catalog.models import Agent, Environment, EnvironmentSync, NodePool, Placement, Team


class NodePoolInline(admin.TabularInline):
    model = NodePool
    extra = 0


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("name", "tier", "region", "redis_sku", "monthly_budget", "approvals_required")
    inlines = [NodePoolInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "email")


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("slug", "domain", "owner_team")
    list_filter = ("domain", "owner_team")
    search_fields = ("slug", "display_name")


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    list_display = ("agent", "environment", "redis_db", "status")
    list_filter = ("environment", "status")
    list_select_related = ("agent", "environment")


@admin.register(EnvironmentSync)
class EnvironmentSyncAdmin(admin.ModelAdmin):
    list_display = ("environment", "status", "requested_at", "finished_at")
    readonly_fields = [f.name for f in EnvironmentSync._meta.fields]
