"""The API's busiest reads, its lists of runs and of approval requests, as hand-written SQL (issue #11): the ORM
took longer to build and compile a list's count and page (joins, select_related, values()) than PostgreSQL took to
answer them. Each statement is written once a process. They read what deployments.selectors.deployment_list and
the approvals' `-created_at` list read, with the same filters and order; names come from the models and values are
converted as the ORM converts their fields (portal.core.sql.fetch), so PostgreSQL and SQLite give the same rows."""

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal.api.pagination import Statement
from portal.catalog.models import Agent, Environment
from portal.core.sql import column, fetch, table
from portal.deployments.models import ApprovalDecision, ApprovalRequest, Deployment
from portal.deployments.selectors import runs_where


def _d(name: str) -> str:
    return f"d.{column(Deployment, name)}"


def _a(name: str) -> str:
    return f"a.{column(ApprovalRequest, name)}"


# --- Runs ---------------------------------------------------------------------------------------

# A list item's columns (DeploymentOut, as endpoints._deployment gives it), in this order: not a run's preview,
# encrypted secrets or ARM state.
RUN_COLUMNS = ("id", "kind", "template", "environment", "status", "reason", "requested_by", "agent", "retry_of",
               "created_at", "started_at", "finished_at", "parameters", "secure_parameter_names", "error",
               "approval", "cancel_requested")


@lru_cache(maxsize=1)
def _run_fields() -> tuple:
    user = get_user_model()
    by_name = {"environment": Environment._meta.get_field("name"), "requested_by": user._meta.get_field("username"),
               "agent": Agent._meta.get_field("slug"), "retry_of": None, "approval": None}
    return tuple(by_name[name] if name in by_name else Deployment._meta.get_field(name) for name in RUN_COLUMNS)


def _one(model, name: str, on: str, *, key: str = "id") -> str:
    """A scalar subquery: `name` of the `model` row whose `key` (unique) is `on` (NULL when there is none). A
    page's few related names are read this way rather than joined: PostgreSQL spent longer planning a five-table
    join than running it (1.4 ms of backend CPU against 0.5 ms for the same page of runs, the same rows)."""
    return (f"(SELECT x.{column(model, name)} FROM {table(model)} x"
            f" WHERE x.{column(model, key)} = {on})")


@lru_cache(maxsize=16)
def _runs_sql(where: str) -> tuple[str, str]:
    """The page's statement and the count's, for runs `d` matching `where`."""
    own = {"environment": _one(Environment, "name", _d("environment")),
           "requested_by": _one(get_user_model(), "username", _d("requested_by")),
           "agent": _one(Agent, "slug", _d("agent")),
           "approval": _one(ApprovalRequest, "id", _d("id"), key="deployment")}
    select = ", ".join(own.get(name) or _d(name) for name in RUN_COLUMNS)
    where = f" WHERE {where}" if where else ""
    page = (f"SELECT {select} FROM {table(Deployment)} d{where}"
            f" ORDER BY {_d('created_at')} DESC, {_d('id')} DESC LIMIT %s OFFSET %s")
    return page, f"SELECT COUNT(*) FROM {table(Deployment)} d{where}"


def run_rows(*, environment: str = "", status: str = "", template: str = "", item, then=None) -> Statement:
    """deployment_list's runs (the same filters: an environment's name, a status or "active", a template), latest
    first, each row (RUN_COLUMNS, in order) made a list item by `item`."""
    where, params = runs_where(environment=environment, status=status, template=template)
    page, count = _runs_sql(where)
    return Statement(page, count, params, _run_fields(), item, then=then)


# --- Approval requests --------------------------------------------------------------------------

# A list item's columns (ApprovalOut, as endpoints._approval gives it, without its decisions), in this order.
APPROVAL_COLUMNS = ("id", "deployment", "template", "environment", "status", "requested_by", "reason",
                    "required_approvals", "approver_group", "created_at", "expires_at", "decided_at", "outcome_note")


@lru_cache(maxsize=1)
def _approval_fields() -> tuple:
    user = get_user_model()
    by_name = {"deployment": None, "template": Deployment._meta.get_field("template"),
               "environment": Environment._meta.get_field("name"), "requested_by": user._meta.get_field("username"),
               "reason": Deployment._meta.get_field("reason"), "approver_group": Group._meta.get_field("name")}
    return tuple(by_name[name] if name in by_name else ApprovalRequest._meta.get_field(name)
                 for name in APPROVAL_COLUMNS)


@lru_cache(maxsize=1)
def _approvals_sql() -> tuple[str, str]:
    own = {"template": _d("template"), "environment": _one(Environment, "name", _d("environment")),
           "requested_by": _one(get_user_model(), "username", _a("requested_by")), "reason": _d("reason"),
           "approver_group": _one(Group, "name", _a("approver_group"))}
    select = ", ".join(own.get(name) or _a(name) for name in APPROVAL_COLUMNS)
    page = (f"SELECT {select} FROM {table(ApprovalRequest)} a"
            f" INNER JOIN {table(Deployment)} d ON {_d('id')} = {_a('deployment')}"
            f" ORDER BY {_a('created_at')} DESC, {_a('id')} DESC LIMIT %s OFFSET %s")  # index approval_created
    return page, f"SELECT COUNT(*) FROM {table(ApprovalRequest)} a"


def approval_rows(*, item, then=None) -> Statement:
    """Every approval request, newest first, each row (APPROVAL_COLUMNS, in order) made a list item by `item`."""
    page, count = _approvals_sql()
    return Statement(page, count, [], _approval_fields(), item, then=then)


@lru_cache(maxsize=8)
def _decisions_sql(n: int) -> str:
    user = get_user_model()
    x = lambda name: f"x.{column(ApprovalDecision, name)}"  # noqa: E731
    return (f"SELECT {x('request')}, u.{column(user, 'username')}, {x('decision')}, {x('comment')}, {x('at')}"
            f" FROM {table(ApprovalDecision)} x INNER JOIN {table(user)} u ON u.{column(user, 'id')} = {x('user')}"
            f" WHERE {x('request')} IN ({', '.join(['%s'] * n)}) ORDER BY {x('request')}, {x('at')}, {x('id')}")


def decisions_of(request_ids: list[int]) -> list[list]:
    """(request id, username, decision, comment, at) of every decision on these requests, each request's in the
    order `decisions.all()` reads them (at, pk)."""
    if not request_ids:
        return []
    fields = (None, None, None, None, ApprovalDecision._meta.get_field("at"))
    return fetch(_decisions_sql(len(request_ids)), list(request_ids), fields)
