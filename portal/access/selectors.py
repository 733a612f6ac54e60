from dataclasses import dataclass, field

from django.db.models import OuterRef, QuerySet, Subquery

from portal.access.choices import REMEDIATION_TEMPLATE, AuditOutcome, FindingKind
from portal.access.models import RbacAudit, RbacFinding
from portal.catalog.models import Environment
from portal.deployments.models import Deployment

HISTORY = 10


def rbac_environment_list() -> QuerySet[Environment]:
    """Environments with their latest audit, and the latest one that could read (one query)."""
    latest = RbacAudit.objects.filter(environment=OuterRef("pk")).order_by("-ran_at", "-pk")
    read = latest.filter(outcome=AuditOutcome.READ)
    return Environment.objects.annotate(
        audit_ran_at=Subquery(latest.values("ran_at")[:1]),
        audit_outcome=Subquery(latest.values("outcome")[:1]),
        audit_error=Subquery(latest.values("error")[:1]),
        read_ran_at=Subquery(read.values("ran_at")[:1]),
        read_present=Subquery(read.values("present_count")[:1]),
        read_missing=Subquery(read.values("missing_count")[:1]),
        read_unexpected=Subquery(read.values("unexpected_count")[:1]),
    ).order_by("position", "name")


def rbac_latest_read(*, environment) -> RbacAudit | None:
    return RbacAudit.objects.filter(environment=environment, outcome=AuditOutcome.READ).first()


FINDING_FIELDS = ("kind", "role_name", "role_guid", "principal", "principal_id", "principal_type", "scope_kind",
                  "scope", "assignment_id", "inherited")


class FindingRow:
    """What the page and the API show of an RbacFinding (issue #11: an audit lists a few hundred, read as tuples
    rather than model instances), and the remediation run started for it since, if it is missing."""

    __slots__ = (*FINDING_FIELDS, "remediation")
    scope_name = RbacFinding.scope_name

    def __init__(self, values: tuple):
        (self.kind, self.role_name, self.role_guid, self.principal, self.principal_id, self.principal_type,
         self.scope_kind, self.scope, self.assignment_id, self.inherited) = values
        self.remediation: Deployment | None = None


@dataclass
class RbacPage:
    environment: Environment
    latest: RbacAudit | None = None          # the latest audit, whatever its outcome
    audit: RbacAudit | None = None           # the latest one that could read: what the page shows
    missing: list[FindingRow] = field(default_factory=list)
    unexpected: list[FindingRow] = field(default_factory=list)
    present: list[FindingRow] = field(default_factory=list)
    not_checked: list[FindingRow] = field(default_factory=list)   # a part the audit could not read
    history: list[RbacAudit] = field(default_factory=list)

    @property
    def failed_since(self) -> bool:
        """The latest audit could not read: the page shows an older one."""
        return self.latest is not None and not self.latest.could_read


def rbac_page(*, environment) -> RbacPage:
    """What the RBAC page shows: the latest audit that could read, its findings (each missing one with
    the remediation run started since, if any), and the recent audits. Five queries at most; the remediation
    runs are not looked for when nothing is missing."""
    history = list(RbacAudit.objects.filter(environment=environment).select_related("requested_by")[:HISTORY])
    page = RbacPage(environment=environment, history=history, latest=history[0] if history else None)
    page.audit = next((a for a in history if a.could_read), None) or rbac_latest_read(environment=environment)
    if page.audit is None:
        return page
    lists = {FindingKind.MISSING: page.missing, FindingKind.UNEXPECTED: page.unexpected,
             FindingKind.PRESENT: page.present, FindingKind.NOT_CHECKED: page.not_checked}
    for values in RbacFinding.objects.filter(audit=page.audit).values_list(*FINDING_FIELDS):
        lists[values[0]].append(FindingRow(values))
    if not page.missing:
        return page
    runs: dict[str, Deployment] = {}
    for run in (Deployment.objects.filter(environment=environment, template=REMEDIATION_TEMPLATE,
                                          created_at__gte=page.audit.ran_at).only("status", "parameters")
                .order_by("-created_at", "-pk")[:50]):
        runs.setdefault(str(run.parameters.get("roleDefinitionId", "")).lower(), run)
    for finding in page.missing:
        finding.remediation = runs.get(finding.role_guid)
    return page
