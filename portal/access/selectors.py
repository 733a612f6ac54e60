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


@dataclass
class RbacPage:
    environment: Environment
    latest: RbacAudit | None = None          # the latest audit, whatever its outcome
    audit: RbacAudit | None = None           # the latest one that could read: what the page shows
    missing: list[RbacFinding] = field(default_factory=list)
    unexpected: list[RbacFinding] = field(default_factory=list)
    present: list[RbacFinding] = field(default_factory=list)
    not_checked: list[RbacFinding] = field(default_factory=list)   # a part the audit could not read
    history: list[RbacAudit] = field(default_factory=list)

    @property
    def failed_since(self) -> bool:
        """The latest audit could not read: the page shows an older one."""
        return self.latest is not None and not self.latest.could_read


def rbac_page(*, environment) -> RbacPage:
    """What the RBAC page shows: the latest audit that could read, its findings (each missing one with
    the remediation run started since, if any), and the recent audits. Five queries at most."""
    history = list(RbacAudit.objects.filter(environment=environment).select_related("requested_by")[:HISTORY])
    page = RbacPage(environment=environment, history=history, latest=history[0] if history else None)
    page.audit = next((a for a in history if a.could_read), None) or rbac_latest_read(environment=environment)
    if page.audit is None:
        return page
    findings = list(RbacFinding.objects.filter(audit=page.audit))   # not audit.findings: it sets each one's audit
    runs: dict[str, Deployment] = {}
    for run in (Deployment.objects.filter(environment=environment, template=REMEDIATION_TEMPLATE,
                                          created_at__gte=page.audit.ran_at).only("status", "parameters")
                .order_by("-created_at", "-pk")[:50]):
        runs.setdefault(str(run.parameters.get("roleDefinitionId", "")).lower(), run)
    for finding in findings:
        finding.remediation = runs.get(finding.role_guid) if finding.kind == FindingKind.MISSING else None
        {FindingKind.MISSING: page.missing, FindingKind.UNEXPECTED: page.unexpected,
         FindingKind.PRESENT: page.present, FindingKind.NOT_CHECKED: page.not_checked}[finding.kind].append(finding)
    return page
