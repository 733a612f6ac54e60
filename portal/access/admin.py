from django.contrib import admin, messages

from portal.access import services
from portal.access.models import RbacAudit, RbacFinding
from portal.core.errors import DomainError


class RbacFindingInline(admin.TabularInline):
    model = RbacFinding
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "role_name", "principal", "principal_id", "scope", "assignment_id", "inherited")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RbacAudit)
class RbacAuditAdmin(admin.ModelAdmin):
    """Audits are written by the audit task. The actions act on the sandbox of the selected audits'
    environments, so the dashboard has drift to find in a demo."""

    list_display = ("environment", "ran_at", "outcome", "present_count", "missing_count", "unexpected_count",
                    "backend")
    list_filter = ("environment", "outcome")
    list_select_related = ("environment",)
    readonly_fields = [f.name for f in RbacAudit._meta.fields]
    inlines = [RbacFindingInline]
    actions = ["inject_drift", "audit_now"]

    def has_add_permission(self, request):
        return False

    def _environments(self, queryset):
        return {audit.environment.pk: audit.environment for audit in queryset.select_related("environment")}.values()

    @admin.action(description="Inject RBAC drift in the sandbox (AcrPull missing, an unexpected Owner)")
    def inject_drift(self, request, queryset):
        for environment in self._environments(queryset):
            try:
                services.rbac_sandbox_drift_inject(environment=environment, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"Not in {environment.name}: {exc.message}", messages.ERROR)
                continue
            services.rbac_audit_request(environment=environment, user=request.user, request=request)
            self.message_user(request, f"Drift injected in {environment.name}; an audit is queued.")

    @admin.action(description="Audit the selected audits' environments now")
    def audit_now(self, request, queryset):
        for environment in self._environments(queryset):
            services.rbac_audit_request(environment=environment, user=request.user, request=request)
        self.message_user(request, "Audits queued.")
