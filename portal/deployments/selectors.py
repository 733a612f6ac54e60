import hashlib
from collections import namedtuple
from functools import cache, lru_cache
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, QuerySet
from django.utils import timezone

from portal.catalog.models import Agent, Environment
from portal.core.links import url_of_pk
from portal.core.pagination import PagedRows
from portal.core.sql import column as _col
from portal.core.sql import table as _table
from portal.deployments.choices import ACTIVE, IN_PROGRESS, ApprovalStatus, DeploymentStatus
from portal.deployments.models import (
    ApprovalDecision,
    ApprovalRequest,
    Deployment,
    DeploymentLogLine,
    DeploymentOperation,
    run_subject,
    run_what,
)


def deployment_get(*, pk: int) -> Deployment:
    return (
        Deployment.objects.select_related("environment", "requested_by", "agent", "retry_of", "approval")
        .prefetch_related(Prefetch("operations", queryset=DeploymentOperation.objects.order_by("position", "pk")))
        .get(pk=pk)
    )


def deployment_list(*, environment: str = "", status: str = "", template: str = "") -> QuerySet[Deployment]:
    qs = Deployment.objects.select_related("environment", "requested_by", "agent")
    if environment:
        qs = qs.filter(environment__name=environment)
    if status == "active":
        qs = qs.filter(status__in=IN_PROGRESS)
    elif status:
        qs = qs.filter(status=status)
    if template:
        qs = qs.filter(template=template)
    return qs.order_by("-created_at", "-pk")


LogLine = namedtuple("LogLine", "seq level message at")


@cache
def _log_sql() -> str:
    run, seq = _col(DeploymentLogLine, "deployment"), _col(DeploymentLogLine, "seq")
    return (f"SELECT {seq}, {_col(DeploymentLogLine, 'level')}, {_col(DeploymentLogLine, 'message')}, "
            f"{_col(DeploymentLogLine, 'at')} FROM {_table(DeploymentLogLine)} "
            f"WHERE {run} = %s AND ({run}, {seq}) > (%s, %s) ORDER BY {run}, {seq} LIMIT %s")


def deployment_log_after(*, deployment: Deployment, after: int = 0, limit: int | None = None) -> list[LogLine]:
    """The next page of a run's log: lines numbered after `after`, in order, at most `limit`
    (PORTAL_LOG_PAGE_LINES). Paging on from the last line returned reaches every line, without gaps.
    Rows with `.seq`, `.level`, `.message` and `.at`, not model instances: a page of 500 instances took
    a third of a long run's page (#11).

    Hand-written, and the line numbers compared as the pair (run, seq) that the unique index of a run's lines is
    ordered by: PostgreSQL then reads the page from that index, in order, and stops after `limit` lines. Asked
    for `seq > after` alone it took the index of runs instead (its statistics, dominated by runs of some fifty
    lines, make the unique index look dear), read every line of the run and sorted them: 2.6 ms against 0.2 ms
    for the first page of a 10,000-line run (#11). The statement is written once a process."""
    limit = limit or settings.PORTAL_LOG_PAGE_LINES
    rows = _fetch(_log_sql(), [deployment.pk, deployment.pk, after, limit])
    at = _converter(DeploymentLogLine, "at")
    if at.steps:  # SQLite: the time from its text, made aware
        return [LogLine(seq, level, message, at(when)) for seq, level, message, when in rows]
    return list(map(LogLine._make, rows))


# What the run page and its card read (the rest of the row, and of its environment, requester, agent and
# approval, is never shown there): the same page from a fraction of the columns (#11).
RUN_PAGE_FIELDS = (
    "kind", "environment", "environment__name", "template", "template_hash", "template_source", "template_commit",
    "parameters", "secure_parameter_names", "agent", "agent__slug", "agent__owner_team", "cluster_action", "reason",
    "requested_by", "requested_by__username", "status", "created_at", "started_at", "finished_at",
    "arm_deployment_name", "correlation_id", "what_if", "error", "cancel_requested", "attempts", "retry_of", "log_seq",
    "approval__status",
)


def deployment_for_page(*, pk: int) -> Deployment:
    """A run as its page shows it: the columns of RUN_PAGE_FIELDS (the others deferred), its environment's name, its
    agent's slug and team, its requester's username, its approval request's status, and its resources in order
    (prefetched: `deployment.operations.all()` reads no more). What select_related, only() and prefetch_related
    give, from two hand-written statements written once a process: the ORM took longer to build them than
    PostgreSQL to answer (#11). The environment, agent, requester and approval are scalar subqueries, not joins:
    PostgreSQL plans five joined tables in more time than it runs them."""
    sql, names, conversions = _run_page_statement()
    rows = _fetch(sql, [pk])
    if not rows:
        raise Deployment.DoesNotExist("Deployment matching query does not exist.")
    row = list(rows[0])
    for at, convert in conversions:
        row[at] = convert(row[at])
    environment, agent_slug, agent_team, username, approval_id, approval_status = row[len(names):]
    deployment = Deployment.from_db(connection.alias, names, row[:len(names)])
    _cache(deployment, "environment", _only(Environment, id=deployment.environment_id, name=environment))
    _cache(deployment, "agent", deployment.agent_id and _only(Agent, id=deployment.agent_id, slug=agent_slug,
                                                              owner_team_id=agent_team))
    _cache(deployment, "requested_by", deployment.requested_by_id and _only(
        get_user_model(), id=deployment.requested_by_id, username=username))
    approval = approval_id and _only(ApprovalRequest, id=approval_id, deployment_id=pk, status=approval_status)
    if approval:
        _cache(approval, "deployment", deployment)
    _cache(deployment, "approval", approval or None)
    operations = [DeploymentOperation.from_db(connection.alias, None, op) for op in _operation_rows(pk)]
    for op in operations:
        _cache(op, "deployment", deployment)
    prefetched = QuerySet(model=DeploymentOperation)
    prefetched._result_cache, prefetched._prefetch_done = operations, True
    deployment._prefetched_objects_cache = {"operations": prefetched}
    return deployment


@cache
def _run_page_statement() -> tuple[str, list[str], list[tuple[int, Callable]]]:
    """deployment_for_page's statement, the attnames of the run's columns it reads first (in the model's order,
    as Model.from_db takes them), and how to convert the columns the ORM converts."""
    fields = [f for f in Deployment._meta.concrete_fields if f.primary_key or f.name in RUN_PAGE_FIELDS]
    user = get_user_model()

    def one(model, name: str, where: str) -> tuple[str, object]:
        return f"(SELECT x.{_col(model, name)} FROM {_table(model)} x WHERE x.{where})", model._meta.get_field(name)

    by_id = f"{_col(Environment, 'id')} = {_d('environment')}"
    agent = f"{_col(Agent, 'id')} = {_d('agent')}"
    approval = f"{_col(ApprovalRequest, 'deployment')} = {_d('id')}"
    related = [one(Environment, "name", by_id), one(Agent, "slug", agent), one(Agent, "owner_team", agent),
               one(user, "username", f"{_col(user, 'id')} = {_d('requested_by')}"),
               one(ApprovalRequest, "id", approval), one(ApprovalRequest, "status", approval)]
    columns = [_d(f.name) for f in fields] + [column for column, _ in related]
    sql = f"SELECT {', '.join(columns)} FROM {_table(Deployment)} d WHERE {_d('id')} = %s"
    return sql, [f.attname for f in fields], _conversions([*fields, *(field for _, field in related)])


@cache
def _operations_statement() -> tuple[str, list[tuple[int, Callable]]]:
    fields = DeploymentOperation._meta.concrete_fields
    op = _table(DeploymentOperation)
    sql = (f"SELECT {', '.join(f'{op}.{_col(DeploymentOperation, f.name)}' for f in fields)} FROM {op} "
           f"WHERE {_col(DeploymentOperation, 'deployment')} = %s "
           f"ORDER BY {_col(DeploymentOperation, 'position')}, {_col(DeploymentOperation, 'id')}")
    return sql, _conversions(fields)


def _operation_rows(pk: int) -> list[list]:
    """A run's resources, every column in the model's order, by position."""
    sql, conversions = _operations_statement()
    rows = [list(row) for row in _fetch(sql, [pk])]
    for row in rows:
        for at, convert in conversions:
            row[at] = convert(row[at])
    return rows


def _conversions(fields) -> list[tuple[int, Callable]]:
    """(position, converter) of each of these columns whose value the ORM converts (_converter)."""
    converters = [(at, _converter(field.model, field.name)) for at, field in enumerate(fields)]
    return [(at, convert) for at, convert in converters if convert.steps]


def _only(model, **values):
    """An instance with these values (attnames) and the rest of its fields deferred, as only() makes it."""
    return model.from_db(connection.alias, values, [values[f.attname] for f in model._meta.concrete_fields
                                                    if f.attname in values])


def _cache(instance, relation: str, value) -> None:
    """Keep `value` as the instance's related object, as select_related keeps it."""
    instance._meta.get_field(relation).set_cached_value(instance, value)


def deployment_poll(*, pk: int) -> tuple[Deployment, str]:
    """What a poll of the run page reads before it knows whether the card changed: the run's status and last
    line number, and the card's version (deployment_version, from its resources' states, not their rows)."""
    deployment = (Deployment.objects.only("status", "cancel_requested", "started_at", "finished_at", "error",
                                          "log_seq")
                  .annotate(has_what_if=ExpressionWrapper(Q(what_if__isnull=False), output_field=BooleanField()))
                  .get(pk=pk))
    operations = (DeploymentOperation.objects.filter(deployment_id=pk).order_by("position", "pk")
                  .values_list("pk", "state", "updated_at"))
    return deployment, _version(deployment, has_what_if=bool(deployment.has_what_if), operations=operations)


def deployment_version(deployment: Deployment) -> str:
    """A short fingerprint of what the run card shows (status, timings, error, what-if, each resource's
    state), from the row and its prefetched operations: a poll re-sends the card only when it changed."""
    return _version(deployment, has_what_if=deployment.what_if is not None,
                    operations=[(op.pk, op.state, op.updated_at) for op in deployment.operations.all()])


def _version(deployment: Deployment, *, has_what_if: bool, operations) -> str:
    ops = [(pk, state, updated_at.isoformat() if updated_at else "") for pk, state, updated_at in operations]
    parts = (deployment.status, deployment.cancel_requested, deployment.started_at, deployment.finished_at,
             deployment.error, has_what_if, ops)
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def deployment_last_succeeded(*, environment, template: str, agent_id: int | None = None,
                              exclude_pk: int | None = None) -> Deployment | None:
    """The last successful run of this template there, for the same agent (or for no agent)."""
    return (Deployment.objects.filter(environment=environment, template=template, status=DeploymentStatus.SUCCEEDED,
                                      agent_id=agent_id)
            .exclude(pk=exclude_pk).order_by("-finished_at", "-pk").first())


def _decidable_by(user) -> Q:
    """Of pending requests, those this user may decide: not their own, not decided by them yet, in their approver
    group where one is set."""
    q = ~Q(requested_by=user) & ~Q(decisions__user=user)
    if not user.is_superuser:
        q &= Q(approver_group__isnull=True) | Q(approver_group__in=user.groups.all())
    return q


def approval_inbox(*, user) -> QuerySet:
    """Pending requests this user may decide: not their own, in their approver group where one is set."""
    return (ApprovalRequest.objects.filter(status="pending").filter(_decidable_by(user))
            .select_related("deployment__environment", "deployment__agent", "requested_by", "approver_group")
            .order_by("expires_at", "pk"))


def approval_pending_rows(*, user, can_decide: bool) -> tuple[list[dict], list[dict]]:
    """The approvals page's pending requests, as rows (pending_approval_rows' rows), in one statement: those this
    user may decide (approval_inbox; none when their role decides nothing) and their own (my_requests_pending),
    each by expiry. Hand-written (_decidable_by's SQL): the ORM took longer to build it than PostgreSQL to run it."""
    own = f"a.{_col(ApprovalRequest, 'requested_by')} = %s"
    if not can_decide:
        where, params = own, [user.pk]
    else:
        decided = (f"EXISTS (SELECT 1 FROM {_table(ApprovalDecision)} x WHERE x.{_col(ApprovalDecision, 'request')}"
                   f" = a.{_col(ApprovalRequest, 'id')} AND x.{_col(ApprovalDecision, 'user')} = %s)")
        where, params = f"({own} OR (NOT {decided}", [user.pk, user.pk]
        if not user.is_superuser:
            groups = user.groups.through
            group = f"a.{_col(ApprovalRequest, 'approver_group')}"
            where += (f" AND ({group} IS NULL OR {group} IN (SELECT {_col(groups, 'group')} FROM {_table(groups)}"
                      f" WHERE {_col(groups, 'user')} = %s))")
            params.append(user.pk)
        where += "))"
    rows = pending_approval_rows(where, params)
    return [r for r in rows if r["requested_by_id"] != user.pk], [r for r in rows if r["requested_by_id"] == user.pk]


def my_requests_pending(*, user) -> list[dict]:
    """The signed-in person's approval requests still waiting (my_requests' pending), as rows, by expiry."""
    return approval_pending_rows(user=user, can_decide=False)[1]


def approval_get(*, pk: int):
    return (ApprovalRequest.objects.select_related("deployment__environment", "deployment__requested_by",
                                                   "deployment__agent",
                                                   "requested_by", "approver_group")
            .prefetch_related(Prefetch("decisions", queryset=ApprovalDecision.objects.select_related("user")))
            .get(pk=pk))


def parameter_diff(*, deployment: Deployment) -> list[dict]:
    """Each parameter against the last successful deployment of the same template, for the same agent, there."""
    last = deployment_last_succeeded(environment=deployment.environment, template=deployment.template,
                                     agent_id=deployment.agent_id, exclude_pk=deployment.pk)
    before = last.parameters if last else {}
    names = sorted(set(before) | set(deployment.parameters))
    return [{"name": n, "before": before.get(n), "after": deployment.parameters.get(n),
             "changed": before.get(n) != deployment.parameters.get(n), "baseline": last} for n in names]


# --- Tables of runs and approvals as plain rows (issue #11) ------------------------------------------
# A table reads only the columns it shows (never a run's preview, error, secrets or continuation token), in
# one query, and works out each cell once here: a row is a dict, which the template reads without the
# lookups, calls and filters a model instance costs per cell (a reverse() per link, |date, get_FOO_display).
# The queries are hand-written, each statement written once a process: the ORM spent more building them than
# PostgreSQL answering them. Names come from the models, and values are converted as the ORM converts their
# fields, so PostgreSQL and SQLite give the same rows.

_RUN_STATUS = dict(DeploymentStatus.choices)
_APPROVAL_STATUS = dict(ApprovalStatus.choices)


def _minutes() -> Callable[[datetime | None], str]:
    """A time as the templates' |date:"Y-m-d H:i" shows it: in the current time zone (looked up once for a
    whole table), to the minute; "" for none."""
    zone = timezone.get_current_timezone()
    return lambda value: value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _a(name: str) -> str:
    """A column of the approval requests `a`."""
    return f"a.{_col(ApprovalRequest, name)}"


def _d(name: str) -> str:
    """A column of the runs `d`."""
    return f"d.{_col(Deployment, name)}"


def _converter(model, name: str) -> Callable:
    """A column's value from the database as the ORM gives the model field's value (a JSON field's from its text, a
    time made aware on SQLite)."""
    field = model._meta.get_field(name)
    col = field.get_col(model._meta.db_table)
    steps = connection.ops.get_db_converters(col) + col.get_db_converters(connection)

    def convert(value):
        for step in steps:
            value = step(value, col, connection)
        return value

    convert.steps = steps
    return convert


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _what_sql() -> tuple[str, str]:
    """The columns of a run `d`'s what (kind, template, cluster action, parameters, agent's slug) and its
    environment's name, and the join they need (environments `e`). The agent's slug is a scalar subquery, not a
    join: a join more took PostgreSQL longer to plan (0.4 ms with the user's) than the page's rows to read."""
    return (f"{_d('kind')}, {_d('template')}, {_d('cluster_action')}, {_d('parameters')}, "
            f"(SELECT g.{_col(Agent, 'slug')} FROM {_table(Agent)} g WHERE g.{_col(Agent, 'id')} = {_d('agent')}), "
            f"e.{_col(Environment, 'name')}",
            f" INNER JOIN {_table(Environment)} e ON e.{_col(Environment, 'id')} = {_d('environment')}")


def _user_sql(on: str) -> tuple[str, str]:
    """A user's username (the user `u` whose id is `on`, a scalar subquery, see _what_sql), and the join it needs
    (none)."""
    user = get_user_model()
    return f"(SELECT u.{_col(user, 'username')} FROM {_table(user)} u WHERE u.{_col(user, 'id')} = {on})", ""


def _run_what(kind, template, cluster_action, parameters, agent_slug, parameters_of) -> str:
    """What a run does (run_what), its parameters read (parameters_of) only when it has no agent to name."""
    subject = agent_slug or run_subject(agent_slug=None, parameters=parameters_of(parameters))
    return run_what(kind=kind, template=template, cluster_action=cluster_action, subject=subject)


@lru_cache(maxsize=16)
def _runs_count_sql(where: str) -> str:
    """The COUNT of the runs `d` matching `where` (runs_where's: no join)."""
    return f"SELECT COUNT(*) FROM {_table(Deployment)} d{f' WHERE {where}' if where else ''}"


@lru_cache(maxsize=16)
def _runs_sql(where: str, order: str) -> str:
    what, joins = _what_sql()
    username, user_join = _user_sql(_d("requested_by"))
    return (f"SELECT {_d('id')}, {_d('status')}, {username}, {_d('created_at')}, {what} "
            f"FROM {_table(Deployment)} d{joins}{user_join}{f' WHERE {where}' if where else ''} ORDER BY {order}")


def run_rows(where: str = "", params: list = (), *, order: str = "", limit: int | None = None,
             offset: int = 0) -> list[dict]:
    """The rows of a table of runs (templates/deployments/_table.html): those of runs `d` (environments `e`)
    matching `where` (SQL), in `order` (latest first by default), `limit` from `offset`: url, pk, what,
    environment, status and its label, requested_by (a username, or None), when."""
    order = order or f"{_d('created_at')} DESC, {_d('id')} DESC"
    sql, params = _runs_sql(where, order), list(params)
    if limit is not None:
        sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset]
    url, minute = url_of_pk("deployments:detail"), _minutes()
    created, parameters = _converter(Deployment, "created_at"), _converter(Deployment, "parameters")
    return [{"pk": pk, "url": url(pk), "what": _run_what(*what, parameters), "environment": environment,
             "status": status, "status_label": _RUN_STATUS.get(status, status), "requested_by": requested_by,
             "when": minute(created(created_at))}
            for pk, status, requested_by, created_at, *what, environment in _fetch(sql, params)]


def runs_where(*, environment: str = "", status: str = "", template: str = "") -> tuple[str, list]:
    """deployment_list's filters (an environment's name, a status or "active", a template) as the WHERE clause
    ("" for none) of a statement over the runs `d`, and its parameters. The environment by a subquery on its name,
    so the statement need not join the environments (its COUNT does not)."""
    where, params = [], []
    if environment:
        where.append(f"{_d('environment')} IN (SELECT {_col(Environment, 'id')} FROM {_table(Environment)}"
                     f" WHERE {_col(Environment, 'name')} = %s)")
        params.append(environment)
    if status == "active":
        where.append(f"{_d('status')} IN ({', '.join('%s' for _ in IN_PROGRESS)})")
        params.extend(sorted(IN_PROGRESS))
    elif status:
        where.append(f"{_d('status')} = %s")
        params.append(status)
    if template:
        where.append(f"{_d('template')} = %s")
        params.append(template)
    return " AND ".join(where), params


def deployment_list_rows(*, environment: str = "", status: str = "", template: str = "") -> PagedRows:
    """deployment_list's runs (the same filters), latest first, as rows (run_rows) for page_of."""
    where, params = runs_where(environment=environment, status=status, template=template)
    return PagedRows((_runs_count_sql(where), params),
                     lambda limit, offset: run_rows(where, params, limit=limit, offset=offset))


@cache
def _environment_names_sql() -> str:
    return f"SELECT {_col(Environment, 'name')} FROM {_table(Environment)} ORDER BY {_col(Environment, 'position')} ASC"


def environment_names() -> list[str]:
    """The environments' names in their order (position), for the deployments page's filter: one statement written
    once a process (the ORM's values_list took longer to build than to read)."""
    return [name for (name,) in _fetch(_environment_names_sql(), [])]


def running_now_rows() -> list[dict]:
    """The runs queued or running now, by environment (in their order), oldest first, as rows (run_rows)."""
    return run_rows(f"{_d('status')} IN ({', '.join('%s' for _ in ACTIVE)})", sorted(ACTIVE),
                    order=f"e.{_col(Environment, 'position')} ASC, {_d('created_at')} ASC")


def my_run_rows(*, user) -> PagedRows:
    """The signed-in person's runs, latest first, as rows (run_rows) for page_of (their approval requests still
    waiting are my_requests_pending's)."""
    where = f"{_d('requested_by')} = %s"
    return PagedRows((_runs_count_sql(where), [user.pk]),
                     lambda limit, offset: run_rows(where, [user.pk], limit=limit, offset=offset))


@lru_cache(maxsize=8)
def _pending_sql(where: str) -> str:
    what, joins = _what_sql()
    username, user_join = _user_sql(_a("requested_by"))
    return (f"SELECT {_a('id')}, {_a('deployment')}, {_a('expires_at')}, {_a('requested_by')}, {username}, "
            f"{_d('reason')}, {what} FROM {_table(ApprovalRequest)} a "
            f"INNER JOIN {_table(Deployment)} d ON {_d('id')} = {_a('deployment')}{joins}{user_join} "
            f"WHERE {_a('status')} = %s AND {where} ORDER BY {_a('expires_at')} ASC, {_a('id')} ASC")


def pending_approval_rows(where: str, params: list) -> list[dict]:
    """The rows of the tables of pending approval requests (approvals page, my requests), those of approval
    requests `a` matching `where` (SQL), by expiry: url (the request's page), deployment_id, run_url, what,
    environment, requested_by_id, requested_by (a username, or None), reason (the run's) and expires."""
    rows = _fetch(_pending_sql(where), [ApprovalStatus.PENDING, *params])
    url, run_url, minute = url_of_pk("deployments:approval"), url_of_pk("deployments:detail"), _minutes()
    expires, parameters = _converter(ApprovalRequest, "expires_at"), _converter(Deployment, "parameters")
    return [{"pk": pk, "url": url(pk), "deployment_id": run, "run_url": run_url(run),
             "what": _run_what(*what, parameters), "environment": environment, "requested_by_id": requested_by_id,
             "requested_by": requested_by, "reason": reason, "expires": minute(expires(expires_at))}
            for pk, run, expires_at, requested_by_id, requested_by, reason, *what, environment in rows]


@cache
def _decided_sql() -> str:
    what, joins = _what_sql()
    return (f"SELECT {_a('id')}, {_a('deployment')}, {_a('status')}, {_a('outcome_note')}, {what} "
            f"FROM {_table(ApprovalRequest)} a INNER JOIN {_table(Deployment)} d ON {_d('id')} = {_a('deployment')}"
            f"{joins} WHERE NOT ({_a('status')} = %s) ORDER BY {_a('decided_at')} DESC, {_a('id')} DESC "
            f"LIMIT %s OFFSET %s")


def decided_approval_rows(*, limit: int, offset: int = 0) -> list[dict]:
    """The approvals page's decided requests (every one not pending), latest decision first, `limit` from `offset`:
    url (the request's page), deployment_id, what, environment, status and its label, outcome_note. Without the
    requester's join, which the table does not show."""
    rows = _fetch(_decided_sql(), [ApprovalStatus.PENDING, limit, offset])
    url, parameters = url_of_pk("deployments:approval"), _converter(Deployment, "parameters")
    return [{"pk": pk, "url": url(pk), "deployment_id": run, "what": _run_what(*what, parameters),
             "environment": environment, "status": status,
             "status_label": _APPROVAL_STATUS.get(status, status), "outcome_note": note}
            for pk, run, status, note, *what, environment in rows]


def decided_approvals() -> PagedRows:
    """The decided requests, latest decision first, as rows (decided_approval_rows) for page_of."""
    return PagedRows(ApprovalRequest.objects.exclude(status=ApprovalStatus.PENDING),
                     lambda limit, offset: decided_approval_rows(limit=limit, offset=offset))
