from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection

from portal.access.choices import REMEDIATION_TEMPLATE, AuditOutcome, FindingKind
from portal.access.models import RbacAudit, RbacFinding
from portal.catalog.models import Environment
from portal.core.sql import column, fetch, table
from portal.deployments.models import Deployment

HISTORY = 10


class EnvironmentRbac(NamedTuple):
    """A row of the RBAC overview: an environment, its latest audit (when, its outcome) and the latest one that
    could read (when, what it counted); None where there is none."""

    name: str
    audit_ran_at: object
    audit_outcome: str | None
    read_ran_at: object
    read_present: int | None
    read_missing: int | None
    read_unexpected: int | None


@cache
def _overview_sql() -> str:
    """The overview's statement, written once a process (issue #11: the ORM took a quarter of the page compiling
    its seven correlated subqueries): each environment joined to its latest audit `l` and its latest
    audit that could read `r`, each found by one subquery on the audits' (environment, ran_at) order."""
    a, e = RbacAudit, Environment

    def latest(extra: str) -> str:
        return (f"(SELECT x.{column(a, 'id')} FROM {table(a)} x WHERE x.{column(a, 'environment')} = "
                f"e.{column(e, 'id')}{extra} ORDER BY x.{column(a, 'ran_at')} DESC, x.{column(a, 'id')} DESC LIMIT 1)")

    read = f" AND x.{column(a, 'outcome')} = %s"
    return (f"SELECT e.{column(e, 'name')}, l.{column(a, 'ran_at')}, l.{column(a, 'outcome')}, "
            f"r.{column(a, 'ran_at')}, "
            f"r.{column(a, 'present_count')}, r.{column(a, 'missing_count')}, r.{column(a, 'unexpected_count')} "
            f"FROM {table(e)} e "
            f"LEFT OUTER JOIN {table(a)} l ON l.{column(a, 'id')} = {latest('')} "
            f"LEFT OUTER JOIN {table(a)} r ON r.{column(a, 'id')} = {latest(read)} "
            f"ORDER BY e.{column(e, 'position')} ASC, e.{column(e, 'name')} ASC")


@cache
def _overview_fields() -> list:
    a = RbacAudit._meta.get_field
    return [Environment._meta.get_field("name"), a("ran_at"), a("outcome"), a("ran_at"), a("present_count"),
            a("missing_count"), a("unexpected_count")]


def rbac_environment_rows() -> list[EnvironmentRbac]:
    """Environments (by position, then name) with their latest audit and the latest one that could read, as rows:
    one hand-written statement."""
    return [EnvironmentRbac(*row) for row in fetch(_overview_sql(), [AuditOutcome.READ], _overview_fields())]


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


@cache
def _findings_sql() -> str:
    """An audit's findings, FINDING_FIELDS, each kind in the model's order (Meta.ordering after its kind: the page
    splits them by kind, so PostgreSQL need not sort by it), written once a process (#11: the ORM compiled it
    each view)."""
    f = RbacFinding
    order = ", ".join(column(f, name) for name in ("role_name", "scope", "id"))
    return (f"SELECT {', '.join(column(f, name) for name in FINDING_FIELDS)} FROM {table(f)} "
            f"WHERE {column(f, 'audit')} = %s ORDER BY {order}")


@cache
def _finding_fields() -> list:
    return [RbacFinding._meta.get_field(name) for name in FINDING_FIELDS]


@cache
def _environment_sql() -> str:
    e = Environment
    return (f"SELECT {', '.join(column(e, f.name) for f in e._meta.concrete_fields)} FROM {table(e)} "
            f"WHERE {column(e, 'name')} = %s")


def environment_by_name(*, name: str) -> Environment | None:
    """The environment named so (every field, as Environment.objects.get(name=...) gives it), or None: one
    statement written once a process (#11: the RBAC page's ORM lookup cost as much as its audits' query)."""
    fields = Environment._meta.concrete_fields
    rows = fetch(_environment_sql(), [name], fields)
    return Environment.from_db(connection.alias, [f.attname for f in fields], rows[0]) if rows else None


@cache
def _history_sql() -> str:
    """An environment's latest audits (every column), each with its requester's username, latest first, written
    once a process (#11: the ORM compiled the select_related each view)."""
    a, user = RbacAudit, get_user_model()
    columns = ", ".join(f"a.{column(a, f.name)}" for f in a._meta.concrete_fields)
    return (f"SELECT {columns}, u.{column(user, 'username')} FROM {table(a)} a LEFT OUTER JOIN {table(user)} u "
            f"ON u.{column(user, 'id')} = a.{column(a, 'requested_by')} WHERE a.{column(a, 'environment')} = %s "
            f"ORDER BY a.{column(a, 'ran_at')} DESC, a.{column(a, 'id')} DESC LIMIT %s")


@cache
def _history_fields() -> list:
    return [*RbacAudit._meta.concrete_fields, get_user_model()._meta.get_field("username")]


def rbac_history(*, environment, limit: int = HISTORY) -> list[RbacAudit]:
    """The environment's latest `limit` audits, latest first, as model instances with their environment and
    requester (id and username: what the page shows of them) already set: what
    RbacAudit.objects.filter(environment=...).select_related("requested_by")[:limit] gave the page."""
    user = get_user_model()
    names = [f.attname for f in RbacAudit._meta.concrete_fields]
    cached_requester, cached_environment = RbacAudit.requested_by.field, RbacAudit.environment.field
    history = []
    for *values, username in fetch(_history_sql(), [environment.pk, limit], _history_fields()):
        audit = RbacAudit.from_db(connection.alias, names, values)
        cached_environment.set_cached_value(audit, environment)
        requester = (user.from_db(connection.alias, ["id", "username"], [audit.requested_by_id, username])
                     if audit.requested_by_id is not None else None)
        cached_requester.set_cached_value(audit, requester)
        history.append(audit)
    return history


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
    history = rbac_history(environment=environment)
    page = RbacPage(environment=environment, history=history, latest=history[0] if history else None)
    page.audit = next((a for a in history if a.could_read), None) or rbac_latest_read(environment=environment)
    if page.audit is None:
        return page
    lists = {FindingKind.MISSING: page.missing, FindingKind.UNEXPECTED: page.unexpected,
             FindingKind.PRESENT: page.present, FindingKind.NOT_CHECKED: page.not_checked}
    for values in fetch(_findings_sql(), [page.audit.pk], _finding_fields()):
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
