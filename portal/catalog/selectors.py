from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache as django_cache
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.compiled import compiled_once
from portal.catalog.models import Agent, Environment, EnvironmentSync, NodePool, Placement, Team
from portal.core.distinct import distinct_values_cte
from portal.core import pagination, sql
from portal.deployments.models import Deployment
from portal.health.choices import HealthState
from portal.health.models import HealthCheck
from portal.costs.selectors import month_cost_annotations
from provisioning.cost.base import month_start


def _counts_sql(kind: str, model, field: str, values: list[str], *, active_only: bool = False) -> tuple[str, list]:
    """SQL giving (environment id, kind, value, count) for every environment and each of `values` of `field`:
    one COUNT(*) per pair, each an index range of (environment, [active,] field). Every index entry is read
    once and only counted; a GROUP BY over the same entries also compared each one with the last (2.9 -> 2.0 ms
    for 30,000 placements and 30,000 checks, #11). A value not in `values` is not counted."""
    qn = connection.ops.quote_name
    env_table, env_pk = qn(Environment._meta.db_table), qn(Environment._meta.pk.column)
    conditions = [f"c.{qn(model._meta.get_field('environment').column)} = e.{env_pk}",
                  f"c.{qn(model._meta.get_field(field).column)} = v.value"]
    params: list = [kind]
    if active_only:
        conditions.append(f"c.{qn(model._meta.get_field('active').column)} = %s")
        params.append(True)
    sql = (f"SELECT e.{env_pk}, %s, v.value, (SELECT COUNT(*) FROM {qn(model._meta.db_table)} c"
           f" WHERE {' AND '.join(conditions)})"
           f" FROM {env_table} e CROSS JOIN ({' UNION ALL '.join(['SELECT %s AS value'] * len(values))}) v")
    return sql, params + list(values)


def _counts_by_environment(*, placements: bool) -> dict[tuple[str, int], Counter]:
    """Active health checks by state (and, with `placements`, placements by status) of every environment, in
    one query however many there are: counts[kind, environment id][value]. Counted at most once every
    PORTAL_SUMMARY_SECONDS per process (#11: the home page and the health overview counted 60,000 index entries
    a view at 10,000 agents, most of their database time; checks run every minute or two anyway)."""
    seconds = settings.PORTAL_SUMMARY_SECONDS
    if seconds <= 0:
        return _count_by_environment(placements=placements)
    return django_cache.get_or_set(f"catalog:environment-counts:{placements}",
                                   lambda: _count_by_environment(placements=placements), seconds)


def _count_by_environment(*, placements: bool) -> dict[tuple[str, int], Counter]:
    parts = [_counts_sql("health", HealthCheck, "state", HealthState.values, active_only=True)]
    if placements:
        parts.append(_counts_sql("placement", Placement, "status", PlacementStatus.values))
    counts: dict[tuple[str, int], Counter] = defaultdict(Counter)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sql for sql, _ in parts), [param for _, params in parts for param in params])
        for environment_id, kind, value, n in cursor.fetchall():
            counts[kind, environment_id][value] = n
    return counts


def _health_checked_at() -> Subquery:
    # ORDER BY ... LIMIT 1, not MAX(): one entry of the (environment, active, checked_at) index, not all of them
    return Subquery(HealthCheck.objects.filter(environment=OuterRef("pk"), active=True, checked_at__isnull=False)
                    .order_by("-checked_at").values("checked_at")[:1])


def _set_health(env: Environment, checks: Counter) -> None:
    env.health_total = sum(checks.values())
    env.health_red = checks[HealthState.RED]
    env.health_amber = checks[HealthState.AMBER]
    env.health_unknown = checks[HealthState.UNKNOWN]


# The home page's and the health overview's querysets depend on nothing but the month: each is built once (per
# month, per process) and cloned with .all() for each request, as a generic view's `queryset` attribute is.
# Building their subqueries anew was a third of the home page's Python at 10,000 agents (#11).

@lru_cache(maxsize=2)
def _environments_for_home(month: date) -> QuerySet[Environment]:
    latest = Deployment.objects.filter(environment=OuterRef("pk")).order_by("-created_at", "-pk")
    redis_used = (Placement.objects.filter(environment=OuterRef("pk"), redis_db__isnull=False).order_by()
                  .values("environment").annotate(n=Count("redis_db", distinct=True)).values("n"))  # shared: once
    last_sync = EnvironmentSync.objects.filter(environment=OuterRef("pk"), finished_at__isnull=False) \
        .order_by("-finished_at").values("finished_at")
    return Environment.objects.annotate(
        last_deployment_id=Subquery(latest.values("pk")[:1]),
        last_deployment_template=Subquery(latest.values("template")[:1]),
        last_deployment_status=Subquery(latest.values("status")[:1]),
        redis_used=Coalesce(Subquery(redis_used[:1]), Value(0)),
        last_sync_at=Subquery(last_sync[:1]),
        health_checked_at=_health_checked_at(),
        **month_cost_annotations(month),
    ).order_by("position", "name")


_compiled_for_home = compiled_once(_environments_for_home)  # and compiled once (#11: 2.2 -> 0.6 ms)


def environment_list() -> list[Environment]:
    """Environments with their placement and health counts, latest deployment, sync and cost, for the home page:
    two queries however many placements and checks there are. The counts come from one query (see
    _counts_sql); the rest are subqueries that each read one index entry. Joining placements and syncs into one
    GROUP BY made the health subqueries run once per joined row (94.7 s at 30,000 placements)."""
    environments = _compiled_for_home(month_start(timezone.localdate())).instances()
    counts = _counts_by_environment(placements=True)
    for env in environments:
        placements = counts["placement", env.pk]
        env.agents_placed = sum(n for status, n in placements.items() if status != PlacementStatus.RETIRED)
        env.agents_running = placements[PlacementStatus.RUNNING]
        env.agents_blocked = placements[PlacementStatus.BLOCKED]
        _set_health(env, counts["health", env.pk])
    return environments


@cache
def _environments_for_health() -> QuerySet[Environment]:
    return Environment.objects.only("pk", "name").annotate(health_checked_at=_health_checked_at()) \
        .order_by("position", "name")


def environment_health_list() -> list[Environment]:
    """Environments with their active health checks by state and when they last ran, for the health overview
    (what environment_list gives the home page, without the placements, deployments and costs): two queries."""
    environments = list(_environments_for_health().all())
    counts = _counts_by_environment(placements=False)
    for env in environments:
        _set_health(env, counts["health", env.pk])
    return environments


def environment_get(*, name: str) -> Environment:
    return (
        Environment.objects.select_related("approver_group")
        .prefetch_related(Prefetch("node_pools", queryset=NodePool.objects.order_by("name")))
        .get(name=name)
    )


def environment_for_page(*, name: str) -> Environment:
    """The environment named `name` with its approver group, for its own pages (no node pools: environment_page
    reads them with it, as rows rather than prefetched models, #11). One statement written once
    (_environment_sql) and the instances made as the ORM makes them (from_db), rather than a select_related
    queryset compiled on every view (0.9 -> 0.3 ms, #11). Raises Environment.DoesNotExist as get() does."""
    return _environment_page(name, with_sync=False)[0]


def environment_page(*, name: str) -> tuple[Environment, EnvironmentSync | None, list[dict]]:
    """environment_for_page's environment, its latest sync (environment_latest_sync's) and its node pools by name
    (the columns its page shows, taints decoded), for its page: one statement, the sync joined by its id and the
    pools joined (a row each, the environment's columns repeated), two round trips less than reading them apart
    (#11)."""
    return _environment_page(name, with_sync=True, with_pools=True)


POOL_COLUMNS = ("name", "mode", "vm_size", "min_nodes", "max_nodes", "taints")


def _environment_page(name: str, *, with_sync: bool, with_pools: bool = False
                      ) -> tuple[Environment, EnvironmentSync | None, list[dict]]:
    statement, fields, sync_fields = _environment_sql(with_sync, with_pools)
    pool_fields = [NodePool._meta.get_field(column) for column in POOL_COLUMNS] if with_pools else []
    rows = sql.fetch(statement, [name], [*fields, *sync_fields, *pool_fields])
    if not rows:
        raise Environment.DoesNotExist(f"No environment named {name!r}.")
    row, n = rows[0], len(fields)
    pools = []
    if with_pools:
        at = n + len(sync_fields)
        pools = [dict(zip(POOL_COLUMNS, pool[at:])) for pool in rows if pool[at] is not None]
        row = row[:at]
    environment = Environment.from_db(connection.alias, [f.attname for f in fields[:-1]], row[:n - 1])
    group = None
    if environment.approver_group_id is not None:
        group = Group.from_db(connection.alias, ["id", "name"], [environment.approver_group_id, row[n - 1]])
    environment.approver_group = group
    sync = None
    if sync_fields and row[n] is not None:
        sync = EnvironmentSync.from_db(connection.alias, [f.attname for f in sync_fields], row[n:])
    return environment, sync, pools


@cache
def _environment_sql(with_sync: bool, with_pools: bool = False) -> tuple[str, list, list]:
    fields = list(Environment._meta.concrete_fields)
    group = Group._meta.get_field("name")
    env_id = f"e.{sql.column(Environment, 'id')}"
    select = [*(f"e.{sql.column(Environment, f.name)}" for f in fields), f"g.{sql.column(Group, 'name')}"]
    joins = (f"LEFT OUTER JOIN {sql.table(Group)} g ON g.{sql.column(Group, 'id')} = "
             f"e.{sql.column(Environment, 'approver_group')}")
    sync_fields = []
    if with_sync:
        sync_fields = list(EnvironmentSync._meta.concrete_fields)
        select += [f"s.{sql.column(EnvironmentSync, f.name)}" for f in sync_fields]
        joins += (f" LEFT OUTER JOIN {sql.table(EnvironmentSync)} s ON s.{sql.column(EnvironmentSync, 'id')} = "
                  f"({_latest_sync_select(sql.column(EnvironmentSync, 'id'), environment=env_id)})")
    order = ""
    if with_pools:
        select += [f"np.{sql.column(NodePool, name)}" for name in POOL_COLUMNS]
        joins += (f" LEFT OUTER JOIN {sql.table(NodePool)} np ON np.{sql.column(NodePool, 'environment')} = "
                  f"{env_id}")
        order = f" ORDER BY np.{sql.column(NodePool, 'name')}"
    statement = (f"SELECT {', '.join(select)} FROM {sql.table(Environment)} e {joins} "
                 f"WHERE e.{sql.column(Environment, 'name')} = %s{order}")
    return statement, [*fields, group], sync_fields


def placement_count(*, environment: Environment) -> int:
    """How many agents are placed in `environment`: counted on every view up to pagination.EXACT_COUNT, a longer
    count kept LONG_COUNT_SECONDS, as page_of keeps a long list's (#11: counting dev's 10,000 placements was most
    of its page's database time). Kept by environment, so the key costs no compiled SQL."""
    return pagination.kept_count(f"catalog:placement-count:{environment.pk}",
                                 Placement.objects.filter(environment=environment.pk).count)


def placement_list(*, environment: Environment) -> pagination.PagedRows:
    """The agents placed in an environment, for its page (paged there, then finished by placement_rows): the
    columns its table shows, as dicts rather than placements, agents and teams with every column (#11), a page
    read by one statement written once (_placements_sql) rather than a queryset compiled on every view. The
    pager counts the environment's placements alone, without the joins the rows need (placement_count)."""
    names = (*PLACEMENT_COLUMNS, "slug", "team")

    def read(limit: int, offset: int) -> list[dict]:
        return [dict(zip(names, row)) for row in _fetch(_placements_sql(), [environment.pk, limit, offset])]

    return pagination.PagedRows(placement_count(environment=environment), read)


PLACEMENT_COLUMNS = ("status", "status_detail", "redis_db", "redis_key_prefix", "cosmos_container", "blob_container",
                     "image_tag", "replicas")


@cache
def _placements_sql() -> str:
    p = [f"p.{sql.column(Placement, name)}" for name in PLACEMENT_COLUMNS]
    return (f"SELECT {', '.join(p)}, a.{sql.column(Agent, 'slug')}, t.{sql.column(Team, 'name')} "
            f"FROM {sql.table(Placement)} p "
            f"INNER JOIN {sql.table(Agent)} a ON a.{sql.column(Agent, 'id')} = p.{sql.column(Placement, 'agent')} "
            f"INNER JOIN {sql.table(Team)} t ON t.{sql.column(Team, 'id')} = a.{sql.column(Agent, 'owner_team')} "
            f"WHERE p.{sql.column(Placement, 'environment')} = %s "
            f"ORDER BY a.{sql.column(Agent, 'slug')} ASC, p.{sql.column(Placement, 'id')} ASC LIMIT %s OFFSET %s")


def placement_rows(*, placements) -> list[dict]:
    """A page of placement_list's rows, each with its agent's url and its status's label."""
    labels, url = dict(PlacementStatus.choices), Agent.url_maker()
    placements = list(placements)
    for placement in placements:
        placement["url"] = url(placement["slug"])
        placement["status_label"] = labels.get(placement["status"], placement["status"])
    return placements


def environment_latest_sync(*, environment: Environment) -> EnvironmentSync | None:
    """The environment's latest sync (EnvironmentSync's ordering), or None: one statement written once, the
    instance made as the ORM makes it (#11: the queryset's compiling was most of it)."""
    statement, fields = _latest_sync_sql()
    rows = sql.fetch(statement, [environment.pk], fields)
    if not rows:
        return None
    return EnvironmentSync.from_db(connection.alias, [f.attname for f in fields], rows[0])


@cache
def _latest_sync_sql() -> tuple[str, list]:
    fields = list(EnvironmentSync._meta.concrete_fields)
    columns = ", ".join(sql.column(EnvironmentSync, f.name) for f in fields)
    return _latest_sync_select(columns, environment="%s"), fields


def _latest_sync_select(columns: str, *, environment: str) -> str:
    """SELECT `columns` of the latest sync (EnvironmentSync's ordering) of the environment whose id is `environment`
    (SQL: a placeholder, or a column of an outer query)."""
    return (f"SELECT {columns} FROM {sql.table(EnvironmentSync)} "
            f"WHERE {sql.column(EnvironmentSync, 'environment')} = {environment} "
            f"ORDER BY {sql.column(EnvironmentSync, 'requested_at')} DESC, {sql.column(EnvironmentSync, 'id')} DESC "
            f"LIMIT 1")


def environment_sync_get(*, pk: int) -> EnvironmentSync:
    return EnvironmentSync.objects.select_related("environment", "requested_by").get(pk=pk)


# An agent list's placements need their environment's name, not its JSON settings: decoding those for
# each of a page's 150 placements was a third of the agent list's time at 10,000 agents (#11).
ENVIRONMENT_JSON_FIELDS = ("discovered_resources", "cosmos_containers", "event_hub_topics", "resource_groups",
                           "approval_operations")


def _agents_matching(*, q: str = "", domain: str = "", team: str = "", environment: str = "",
                     team_pk: int | None = None, environment_pk: int | None = None) -> QuerySet[Agent]:
    """The agents matching the filters. A team or environment known by its id (team_pk, environment_pk) is
    filtered by the id: no join to teams, no join to environments in each agent's EXISTS (#11)."""
    qs = Agent.objects.all()
    if q:
        qs = qs.filter(Q(slug__icontains=q) | Q(display_name__icontains=q) | Q(description__icontains=q))
    if domain:
        qs = qs.filter(domain=domain)
    if team_pk is not None:
        qs = qs.filter(owner_team=team_pk)
    elif team:
        qs = qs.filter(owner_team__slug=team)
    # EXISTS, not a join and DISTINCT over every column: 27 ms -> a few at 10,000 agents (#11)
    if environment_pk is not None:
        qs = qs.filter(Exists(Placement.objects.filter(agent=OuterRef("pk"), environment=environment_pk)))
    elif environment:
        qs = qs.filter(Exists(Placement.objects.filter(agent=OuterRef("pk"), environment__name=environment)))
    return qs.order_by("slug")


def agent_list(*, q: str = "", domain: str = "", team: str = "", environment: str = "") -> QuerySet[Agent]:
    """The agents matching the filters, with their owner team and placements (each with its environment)."""
    return _agents_matching(q=q, domain=domain, team=team, environment=environment).select_related(
        "owner_team").prefetch_related(
        Prefetch("placements", queryset=Placement.objects.select_related("environment")
                 .defer(*(f"environment__{name}" for name in ENVIRONMENT_JSON_FIELDS))
                 .order_by("environment__position"))
    )


def agent_table(*, choices: dict, q: str = "", domain: str = "", team: str = "", environment: str = "") -> "AgentTable":
    """The agents matching the filters, for the agent list page (paged there, then finished by agent_rows): the
    columns its table shows, as dicts (pk, slug, display_name, domain, memory_tiers, owner_team) rather than models
    with every column, and no join (the count neither: the team and environment filters use the ids that
    `choices`, agent_filter_choices(), lists). In SQL written here (_agents_where) rather than a queryset compiled
    three times a view (its count's cache key, its count, its page: 1.5 ms of the page, #11); the filters match as
    _agents_matching's."""
    team_pks = {slug: pk for pk, slug, _ in choices["teams"]}
    environment_pks = {name: pk for pk, name in choices["environments"]}
    where, params = _agents_where(q=q, domain=domain, team=team, environment=environment,
                                  team_pk=team_pks.get(team), environment_pk=environment_pks.get(environment))
    return AgentTable(where, params)


AGENT_TABLE_COLUMNS = ("pk", "slug", "display_name", "domain", "memory_tiers", "owner_team")


def _agents_where(*, q: str, domain: str, team: str, environment: str, team_pk: int | None,
                  environment_pk: int | None) -> tuple[str, list]:
    """The WHERE clause (on agents `a`) of _agents_matching's filters, and its parameters: a search as the ORM's
    icontains writes it for this database, a team or environment by id where known, else by name."""
    conditions, params = [], []
    if q:
        pattern = f"%{connection.ops.prep_for_like_query(q)}%"
        like = connection.operators["icontains"] % "%s"
        searched = []
        for name in ("slug", "display_name", "description"):
            field = Agent._meta.get_field(name)
            lhs = connection.ops.lookup_cast("icontains", field.get_internal_type()) % f"a.{sql.column(Agent, name)}"
            searched.append(f"{lhs} {like}")
            params.append(pattern)
        conditions.append(f"({' OR '.join(searched)})")
    if domain:
        conditions.append(f"a.{sql.column(Agent, 'domain')} = %s")
        params.append(domain)
    owner = f"a.{sql.column(Agent, 'owner_team')}"
    if team_pk is not None:
        conditions.append(f"{owner} = %s")
        params.append(team_pk)
    elif team:
        conditions.append(f"{owner} IN (SELECT t.{sql.column(Team, 'id')} FROM {sql.table(Team)} t "
                          f"WHERE t.{sql.column(Team, 'slug')} = %s)")
        params.append(team)
    # EXISTS, not a join and DISTINCT over every column: 27 ms -> a few at 10,000 agents (#11)
    placed = (f"SELECT 1 FROM {sql.table(Placement)} p WHERE p.{sql.column(Placement, 'agent')} = "
              f"a.{sql.column(Agent, 'id')} AND p.{sql.column(Placement, 'environment')}")
    if environment_pk is not None:
        conditions.append(f"EXISTS ({placed} = %s)")
        params.append(environment_pk)
    elif environment:
        conditions.append(f"EXISTS ({placed} IN (SELECT e.{sql.column(Environment, 'id')} FROM "
                          f"{sql.table(Environment)} e WHERE e.{sql.column(Environment, 'name')} = %s))")
        params.append(environment)
    return " AND ".join(conditions), params


@cache
def _agent_table_fields() -> tuple[str, list]:
    fields = [Agent._meta.get_field("id" if name == "pk" else name) for name in AGENT_TABLE_COLUMNS]
    return f"SELECT {', '.join(f'a.{f.column}' for f in fields)} FROM {sql.table(Agent)} a", fields


class AgentTable:
    """agent_table's agents for page_of: counted as list_count counts a queryset (exact up to
    pagination.EXACT_COUNT, a longer count kept LONG_COUNT_SECONDS by statement), a page's slice read by one
    statement; iterated, every matching agent."""

    ordered = True

    def __init__(self, where: str, params: list):
        self._where, self._params = (f" WHERE {where}" if where else ""), params
        self._count = None
        self.placed: dict[int, list[tuple[int, str]]] | None = None  # by agent: a page's placements, once read

    def count(self) -> int:
        if self._count is None:
            self._count = pagination.sql_count(f"SELECT COUNT(*) FROM {sql.table(Agent)} a{self._where}", self._params)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def _rows(self, tail: str = "", params: list = ()) -> list[dict]:
        select, fields = _agent_table_fields()
        statement = f"{select}{self._where} ORDER BY a.{sql.column(Agent, 'slug')} ASC{tail}"
        return [dict(zip(AGENT_TABLE_COLUMNS, row)) for row in sql.fetch(statement, [*self._params, *params], fields)]

    def __getitem__(self, key: slice) -> list[dict]:
        """A page's agents, read with their placements' (environment, status) by one statement: the page's
        agents (LIMIT/OFFSET) joined to their placements, each agent's rows together; the placements kept in
        `placed` for agent_rows (#11: a round trip less than reading them by a second query)."""
        start = key.start or 0
        select, fields = _agent_table_fields()
        slug, agent_id = f"a.{sql.column(Agent, 'slug')}", f"a.{Agent._meta.pk.column}"
        outer = ", ".join(f"a.{f.column}" for f in fields)
        statement = (f"SELECT {outer}, p.{sql.column(Placement, 'environment')}, p.{sql.column(Placement, 'status')} "
                     f"FROM ({select}{self._where} ORDER BY {slug} ASC LIMIT %s OFFSET %s) a "
                     f"LEFT OUTER JOIN {sql.table(Placement)} p ON p.{sql.column(Placement, 'agent')} = {agent_id} "
                     f"ORDER BY {slug} ASC, p.{sql.column(Placement, 'id')} ASC")
        n = len(AGENT_TABLE_COLUMNS)
        agents: list[dict] = []
        self.placed = placed = {}
        for row in sql.fetch(statement, [*self._params, max(0, key.stop - start), start], [*fields, None, None]):
            pk = row[0]
            if pk not in placed:
                agents.append(dict(zip(AGENT_TABLE_COLUMNS, row[:n])))
                placed[pk] = []
            if row[n] is not None:
                placed[pk].append((row[n], row[n + 1]))
        return agents

    def __iter__(self):
        return iter(self._rows())


@dataclass(frozen=True)
class PlacementCell:
    status: str
    label: str


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def _columns(model, *fields: str) -> tuple[str, str]:
    """'SELECT <the fields' columns> FROM <the model's table>' and the first field's column, quoted: the SQL of the
    small fixed reads below, written here once rather than compiled by the ORM on every view (a query's
    compiling and its rows' conversion were 0.3-0.7 ms of Python each, the database's answer 0.1, #11)."""
    qn = connection.ops.quote_name
    columns = [qn(model._meta.get_field(field).column) for field in fields]
    return f"SELECT {', '.join(columns)} FROM {qn(model._meta.db_table)}", columns[0]


def agent_rows(*, agents, environments: list[int], teams: dict[int, str],
               placed: dict[int, list[tuple[int, str]]] | None = None) -> list[dict]:
    """A page of agent_table's rows, each with its detail page's url, its owner team's name (from `teams`, every
    team's name by id), its memory tiers as text and its placement's status in each of `environments` (ids,
    the table's columns in order; None where it is not placed). One query (none for no agents, as the ORM's
    `agent__in=[]`): three columns of the page's placements, not 150 placements and their environments built
    as models, in SQL written once (_columns) rather than compiled for every page (#11). No query when `placed`
    gives the agents' placements already (agent id -> [(environment id, status)], AgentTable's page read them)."""
    agents = list(agents)
    cells = {status: PlacementCell(status, label) for status, label in PlacementStatus.choices}
    url = Agent.url_maker()
    by_agent: dict[int, dict[int, PlacementCell]] = defaultdict(dict)
    if placed is not None:
        for agent_id, pairs in placed.items():
            by_agent[agent_id] = {environment_id: cells.get(status) or PlacementCell(status, status)
                                  for environment_id, status in pairs}
    elif agents:
        select, agent_column = _columns(Placement, "agent", "environment", "status")
        pks = [agent["pk"] for agent in agents]
        for agent_id, environment_id, status in _fetch(
                f"{select} WHERE {agent_column} IN ({', '.join(['%s'] * len(pks))})", pks):
            by_agent[agent_id][environment_id] = cells.get(status) or PlacementCell(status, status)
    for agent in agents:
        statuses = by_agent[agent["pk"]]
        agent["url"] = url(agent["slug"])
        agent["team"] = teams[agent["owner_team"]]
        agent["memory"] = ", ".join(agent["memory_tiers"])
        agent["cells"] = [statuses.get(pk) for pk in environments]
    return agents


def agent_domains() -> list[str]:
    """Every agent's domain once, in order: one probe of the domain index per domain (distinct_values_cte),
    where SELECT DISTINCT read all 10,000 agents' entries (#11)."""
    with connection.cursor() as cursor:
        cursor.execute(f"WITH RECURSIVE {distinct_values_cte(Agent._meta.db_table, 'domain')} "
                       f"SELECT value FROM domain_values WHERE value IS NOT NULL ORDER BY value")
        return [domain for (domain,) in cursor.fetchall()]


def agent_filter_choices() -> dict:
    """The agent list's filters' choices: every domain, every team as (id, slug, name) by name and every
    environment as (id, name) in page order; one statement written once (_choices_sql): the three reads it was
    cost a round trip each (#11)."""
    choices = {"domains": [], "teams": [], "environments": []}
    for kind, pk, first, second, *_ in _fetch(_choices_sql()):
        if kind == 0:
            choices["domains"].append(first)
        elif kind == 1:
            choices["teams"].append((pk, first, second))
        else:
            choices["environments"].append((pk, first))
    return choices


@cache
def _choices_sql() -> str:
    """Domains (agent_domains' loose index scan), teams and environments as (kind, id, first, second) rows, each
    kind in its own order: (kind, key, name) sorts them, key the environments' position."""
    team, env = sql.table(Team), sql.table(Environment)
    team_name, env_name = sql.column(Team, "name"), sql.column(Environment, "name")
    return (f"WITH RECURSIVE {distinct_values_cte(Agent._meta.db_table, 'domain')} "
            f"SELECT 0, NULL, value, NULL, 0, value FROM domain_values WHERE value IS NOT NULL "
            f"UNION ALL SELECT 1, {sql.column(Team, 'id')}, {sql.column(Team, 'slug')}, {team_name}, 0, {team_name} "
            f"FROM {team} "
            f"UNION ALL SELECT 2, {sql.column(Environment, 'id')}, {env_name}, NULL, "
            f"{sql.column(Environment, 'position')}, {env_name} FROM {env} "
            f"ORDER BY 1, 5, 6")


def agent_get(*, slug: str) -> Agent:
    return (
        Agent.objects.select_related("owner_team", "created_by")
        .prefetch_related(Prefetch("placements", queryset=Placement.objects.select_related("environment")
                                   .order_by("environment__position")))
        .get(slug=slug)
    )


def environment_summary(*, environment: Environment) -> dict:
    """What the sync task computes: counts from the catalog for one environment."""
    placements = Placement.objects.filter(environment=environment)
    by_status = dict(placements.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    redis_used = set(placements.exclude(redis_db__isnull=True).values_list("redis_db", flat=True))
    pools = list(environment.node_pools.order_by("name").values("name", "min_nodes", "max_nodes"))
    return {
        "placements": sum(by_status.values()),
        "by_status": by_status,
        "redis_databases_used": len(redis_used) + environment.redis_reserved_databases,
        "redis_database_limit": environment.redis_database_limit,
        "node_pools": len(pools),
        "min_nodes": sum(p["min_nodes"] for p in pools),
        "max_nodes": sum(p["max_nodes"] for p in pools),
    }
