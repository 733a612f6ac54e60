from django.contrib import admin

from portal.costs.models import BudgetAlert, BudgetPolicy, CostEntry, CostForecast, CostIngestRun, PriceRefresh


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the ingest writes: looked at here, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CostEntry)
class CostEntryAdmin(ReadOnlyAdmin):
    list_display = ("date", "environment", "service", "resource_group", "agent", "cost", "currency")
    list_filter = ("environment", "service")
    search_fields = ("agent", "resource_group")
    date_hierarchy = "date"
    list_select_related = ("environment",)


@admin.register(CostForecast)
class CostForecastAdmin(ReadOnlyAdmin):
    list_display = ("month", "environment", "actual", "forecast", "as_of", "computed_at")
    list_select_related = ("environment",)


@admin.register(CostIngestRun)
class CostIngestRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "environment", "backend", "status", "rows", "error_code")
    list_filter = ("status", "environment")
    list_select_related = ("environment",)


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    list_display = ("month", "environment", "basis", "threshold", "amount", "budget", "crossed_at")
    list_select_related = ("environment",)


@admin.register(BudgetPolicy)
class BudgetPolicyAdmin(ReadOnlyAdmin):
    """Changed on the portal's Edit budget alerts page (versioned and audited), never here."""

    def has_delete_permission(self, request, obj=None):
        return False

    list_display = ("environment", "actual_thresholds", "forecast_thresholds", "updated_at")


@admin.register(PriceRefresh)
class PriceRefreshAdmin(ReadOnlyAdmin):
    list_display = ("at", "status", "region", "refreshed", "kept")
    exclude = ("prices",)
