"""Seed a database to the scale of a real platform, through the portal's models.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/peakportal_bench \\
        .venv/bin/python bench/seed.py --agents 1000

Per agent (the issue's shape: 10,000 agents -> 30,000 placements, 100,000 runs, 5 M log lines,
~1 M cost rows, ~2.2 M health results, ~52,000 RBAC findings): 3 placements, 10 runs of ~6
operations and `--log-lines` lines, ~98 cost rows, ~220 health results, ~5 RBAC findings, 3 audit
events. Plus one run with 10,000 log lines, 30 days of summary syncs and a `bench` Platform admin.

On PostgreSQL the rows go in with COPY (columns and values from the models' fields); elsewhere with
bulk_create. The demo platform (environments, pools, teams, users) is loaded first; `--reset` empties
the tables this script fills. Everything is dated relative to `--today` (default: today).
"""

import argparse
import itertools
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.management.color import no_style  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils.timezone import now as django_now  # noqa: E402

from portal.access.models import RbacAudit, RbacFinding  # noqa: E402
from portal.accounts import roles  # noqa: E402
from portal.accounts.services import user_create_with_role  # noqa: E402
from portal.audit.models import AuditEvent  # noqa: E402
from portal.catalog.demo import demo_load  # noqa: E402
from portal.catalog.models import Agent, Environment, EnvironmentSync, Placement, Team  # noqa: E402
from portal.costs.models import CostEntry, CostForecast, CostIngestRun  # noqa: E402
from portal.deployments.models import (  # noqa: E402
    ApprovalRequest,
    Deployment,
    DeploymentLogLine,
    DeploymentOperation,
)
from portal.health.models import HealthCheck, HealthDay, HealthResult  # noqa: E402
from portal.health.services import health_days_rebuild  # noqa: E402

BENCH_USER = "bench"
BENCH_PASSWORD = "bench-2026-portal"
DOMAINS = ["crm", "ecommerce", "inventory", "logistics", "product-management"]
SERVICES = ["Azure Kubernetes Service", "Azure Cosmos DB", "Redis Cache", "Event Hubs", "Storage",
            "Key Vault", "API Management", "Container Registry", "Log Analytics", "Virtual Network"]
RUNS_PER_AGENT = 10
OPERATIONS_PER_RUN = 6
COST_DAYS = 180
RESULTS_PER_CHECK = 73        # ~220 per agent over 3 environments, across the 8 days kept


def insert(model, fields: list[str], rows, *, batch: int = 5000) -> int:
    """Insert `rows` (tuples in the order of `fields`, attnames) into `model`'s table: COPY on PostgreSQL,
    bulk_create elsewhere. Values go through each field's get_db_prep_save, as the ORM would."""
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    # The fields not given take their model default, as Model() would (auto_now ones: now).
    stamp = django_now()
    rest = [f for f in opts.concrete_fields if f not in given and not f.primary_key]
    defaults = [stamp if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
                for f in rest]
    columns = given + rest
    rows = (tuple(row) + tuple(defaults) for row in rows)
    fields = [f.attname for f in columns]
    n = 0
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {connection.ops.quote_name(opts.db_table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([f.get_db_prep_save(v, connection) for f, v in zip(columns, row)])
                n += 1
        return n
    it = iter(rows)
    while chunk := list(itertools.islice(it, batch)):
        model.objects.bulk_create([model(**dict(zip(fields, row))) for row in chunk])
        n += len(chunk)
    return n


def next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def reset_sequences(*models):
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def reset():
    for model in (DeploymentLogLine, DeploymentOperation, ApprovalRequest, CostEntry, CostForecast, CostIngestRun,
                  HealthDay, HealthResult, HealthCheck, RbacFinding, RbacAudit, EnvironmentSync):
        model.objects.all()._raw_delete(connection.alias)
    Deployment.objects.all()._raw_delete(connection.alias)
    AuditEvent.objects.all()._raw_delete(connection.alias)
    Placement.objects.filter(agent__slug__startswith="bench-").delete()
    Agent.objects.filter(slug__startswith="bench-").delete()


def bench_token() -> None:
    """The `bench` user's read token, bench.pages.BENCH_TOKEN (the benchmark loads the API's lists with it); once."""
    from django.contrib.auth import get_user_model

    from bench.pages import BENCH_TOKEN
    from portal.api.models import ApiToken
    from portal.api.services import token_digest

    ApiToken.objects.get_or_create(digest=token_digest(BENCH_TOKEN), defaults={
        "user": get_user_model().objects.get(username=BENCH_USER), "name": "bench: the API's lists",
        "prefix": BENCH_TOKEN[:10], "scopes": ["read"], "expires_at": django_now() + timedelta(days=365)})


def seed(*, agents: int, log_lines: int, today: date, results_per_check: int = RESULTS_PER_CHECK,
         cost_days: int = COST_DAYS, big_run_lines: int = 10_000, out=print) -> dict:
    """Add `agents` agents and their rows; calling it again adds more (tests seed two sizes)."""
    now = datetime.combine(today, datetime.min.time(), tzinfo=dt_timezone.utc) + timedelta(hours=12)
    timings = {}

    def step(name, fn):
        start = time.perf_counter()
        with transaction.atomic():
            n = fn()
        timings[name] = (n, time.perf_counter() - start)
        out(f"  {name:<18} {n:>10,} rows  {time.perf_counter() - start:7.1f} s")

    demo_load()
    from django.contrib.auth import get_user_model
    User = get_user_model()
    if not User.objects.filter(username=BENCH_USER).exists():
        user_create_with_role(username=BENCH_USER, password=BENCH_PASSWORD, role=roles.PLATFORM_ADMIN,
                              first_name="Bench", last_name="Admin", email="bench@example.com", is_superuser=True)
    bench_user = User.objects.get(username=BENCH_USER)
    bench_token()
    envs = list(Environment.objects.order_by("position"))
    teams = list(Team.objects.order_by("slug"))
    first_agent = next_id(Agent)

    step("agents", lambda: insert(Agent, ["id", "slug", "display_name", "domain", "owner_team_id", "description",
                                          "image", "memory_tiers", "needs_ai_search", "needs_openai",
                                          "health_path", "created_at"], (
        (first_agent + i, f"bench-agent-{first_agent + i:05d}", f"Bench agent {first_agent + i:05d}", DOMAINS[i % len(DOMAINS)],
         teams[i % len(teams)].pk, f"Agent {i} of the benchmark.", f"acr.example.io/agents/bench-{i}",
         ["hot", "warm", "cold"], i % 7 == 0, i % 5 == 0, "/health", now - timedelta(days=200 - i % 200))
        for i in range(agents))))
    agent_ids = list(range(first_agent, first_agent + agents))

    statuses = ["running"] * 8 + ["blocked", "planned"]
    # Never in the future (`now` is today's noon): showback rebuilds while a placement changed after its build.
    changed = min(now, django_now())
    first_placement = next_id(Placement)
    step("placements", lambda: insert(Placement, ["id", "agent_id", "environment_id", "redis_db", "redis_key_prefix",
                                                  "cosmos_container", "blob_container", "image_tag", "replicas",
                                                  "status", "status_detail", "updated_at"], (
        (first_placement + e * agents + i, agent_ids[i], env.pk, None, "", f"warm-bench-{agent_ids[i]:05d}-chat-memory",
         f"cold-bench-{agent_ids[i]:05d}-chat-memory", "1.0.0", 1, statuses[(i + e) % len(statuses)], "", changed)
        for e, env in enumerate(envs) for i in range(agents))))

    # Runs: RUNS_PER_AGENT per agent over six months, all finished (one active run per template at most).
    n_runs = agents * RUNS_PER_AGENT
    first_run = next_id(Deployment)
    run_statuses = ["succeeded"] * 8 + ["failed", "cancelled"]
    templates = ["agent", "shared-infrastructure", "role-assignment", "static-web-app"]

    def run_row(k):
        env = envs[k % len(envs)]
        created = now - timedelta(minutes=(n_runs - k) * (cost_days * 1440 // max(n_runs, 1)) + 5)
        return (first_run + k, "template", env.pk, templates[k % len(templates)], "a" * 64,
                {"agentName": f"bench-agent-{agent_ids[k % agents]:05d}", "environment": env.name}, "", [],
                agent_ids[k % agents], "", "bench", bench_user.pk, run_statuses[k % len(run_statuses)], created,
                created + timedelta(seconds=5), created + timedelta(minutes=3), f"bench-{k}", "",
                {"changes": [{"change_type": "Create", "resource_id": f"/x/{k}/{j}", "resource_type": "t"}
                             for j in range(3)]}, None, False, False, False, 1, log_lines)

    step("runs", lambda: insert(Deployment, [
        "id", "kind", "environment_id", "template", "template_hash", "parameters", "secure_parameters",
        "secure_parameter_names", "agent_id", "cluster_action", "reason", "requested_by_id", "status", "created_at",
        "started_at", "finished_at", "arm_deployment_name", "continuation_token", "what_if", "error",
        "cancel_requested", "auto_confirm", "then_apply_workload", "attempts", "log_seq"],
        (run_row(k) for k in range(n_runs))))
    big_run = first_run + n_runs
    step("run (10k lines)", lambda: insert(Deployment, [
        "id", "kind", "environment_id", "template", "status", "created_at", "finished_at", "requested_by_id",
        "parameters", "log_seq", "arm_deployment_name"],
        [(big_run, "template", envs[0].pk, "shared-infrastructure", "succeeded", now - timedelta(minutes=1), now,
          bench_user.pk, {"environment": envs[0].name}, big_run_lines, "bench-big")]))

    step("operations", lambda: insert(DeploymentOperation, [
        "deployment_id", "operation_id", "position", "resource_type", "resource_name", "state", "updated_at"], (
        (run_id, f"/subscriptions/x/resourceGroups/rg/providers/t/r-{run_id}-{j}", j,
         "Microsoft.Resources/deployments", f"r-{run_id}-{j}", "Succeeded", now)
        for run_id in itertools.chain(range(first_run, first_run + n_runs), [big_run])
        for j in range(OPERATIONS_PER_RUN))))

    levels = ["info"] * 18 + ["warning", "error"]
    step("log lines", lambda: insert(DeploymentLogLine, ["deployment_id", "seq", "level", "message", "at"], (
        (run_id, s, levels[s % 20], f"step {s}: resource r-{s % 7} is Running, provisioning state reported", now)
        for run_id, count in itertools.chain(((first_run + k, log_lines) for k in range(n_runs)),
                                             [(big_run, big_run_lines)])
        for s in range(1, count + 1))))

    prod = envs[-1]
    step("approvals", lambda: insert(ApprovalRequest, [
        "deployment_id", "status", "required_approvals", "template_hash", "parameters_hash", "requested_by_id",
        "created_at", "expires_at", "decided_at", "outcome_note"], (
        (first_run + k, "approved", 1, "a" * 64, "b" * 64, bench_user.pk, now - timedelta(days=k % cost_days),
         now - timedelta(days=k % cost_days) + timedelta(hours=24), now - timedelta(days=k % cost_days) + timedelta(hours=1), "")
        for k in range(n_runs) if envs[k % len(envs)].pk == prod.pk and (k // len(envs)) % 3 == 0)))

    # Costs: per environment and day, the untagged shared services, and a rotating third of the agents
    # on AKS (~98 rows per agent over six months and three environments).
    shared_exist = CostEntry.objects.filter(agent="").exists()

    def cost_rows():
        for e, env in enumerate(envs):
            rg = env.resource_group.lower()
            for d in range(cost_days):
                day = today - timedelta(days=d)
                for s, service in enumerate(SERVICES if not shared_exist else []):
                    yield (env.pk, day, service, rg, "", Decimal(10 + s) + Decimal(d % 7) / 10, "USD", now)
                for i in range((d + e) % 6, agents, 6):
                    yield (env.pk, day, "Azure Kubernetes Service", rg, f"bench-agent-{agent_ids[i]:05d}",
                           Decimal("1.25") + Decimal(i % 13) / 100, "USD", now)

    step("cost rows", lambda: insert(CostEntry, ["environment_id", "date", "service", "resource_group", "agent",
                                                 "cost", "currency", "updated_at"], cost_rows()))
    def cost_months():
        from portal.costs.services import cost_month_refresh
        months = {date(d.year, d.month, 1) for d in (today - timedelta(days=n) for n in range(cost_days))}
        return sum(cost_month_refresh(environment=env, month=m) for env in envs for m in months)

    step("cost rollup", cost_months)
    step("ingest runs", lambda: insert(CostIngestRun, ["environment_id", "status", "backend", "months", "started_at",
                                                       "finished_at", "rows"], (
        (env.pk, "succeeded", "sandbox", [f"{today:%Y-%m}"], now - timedelta(hours=h), now - timedelta(hours=h), 100)
        for env in envs for h in range(24 * 7))))

    # Health: per placement a workload check with RESULTS_PER_CHECK results over the last 8 days.
    first_check = next_id(HealthCheck)
    check_states = ["green"] * 17 + ["amber", "red", "unknown"]
    step("health checks", lambda: insert(HealthCheck, [
        "id", "environment_id", "kind", "target", "label", "agent_id", "active", "state", "summary", "details",
        "checked_at", "state_since", "last_known_state", "alert_status"], (
        (first_check + e * agents + i, env.pk, "workload", f"bench-agent-{agent_ids[i]:05d}", f"bench-agent-{agent_ids[i]:05d}",
         agent_ids[i], True, check_states[(i * 7 + e) % 20], "1/1 replicas available", {}, now,
         now - timedelta(hours=i % 48), "green", "quiet")
        for e, env in enumerate(envs) for i in range(agents))))
    step("health results", lambda: insert(HealthResult, ["health_check_id", "state", "summary", "checked_at"], (
        (first_check + c, check_states[(c + r) % 20], "1/1 replicas available",
         now - timedelta(minutes=r * (8 * 1440 // results_per_check)))
        for c in range(agents * len(envs)) for r in range(results_per_check))))
    step("health days", lambda: health_days_rebuild())      # the rollup the checks keep, recounted after COPY

    first_audit = next_id(RbacAudit)
    step("rbac audits", lambda: insert(RbacAudit, ["id", "environment_id", "outcome", "backend", "ran_at",
                                                   "present_count", "missing_count", "unexpected_count"], (
        (first_audit + e * 96 + h, env.pk, "read", "sandbox", now - timedelta(minutes=15 * h), 5, 1,
         agents * 5 // len(envs) // 96) for e, env in enumerate(envs) for h in range(96))))
    step("rbac findings", lambda: insert(RbacFinding, ["audit_id", "kind", "role_name", "role_guid", "scope"], (
        (first_audit + (i % (len(envs) * 96)), "unexpected", "Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
         f"/subscriptions/x/resourceGroups/rg-{i}") for i in range(agents * 5))))

    step("audit events", lambda: insert(AuditEvent, ["at", "actor_id", "actor_name", "action", "object_type",
                                                     "object_id", "object_repr", "details"], (
        (now - timedelta(minutes=i), bench_user.pk, BENCH_USER, "deployment.requested", "deployment",
         str(first_run + i % n_runs), f"run {i}", {}) for i in range(agents * 3))))
    step("summary syncs", lambda: insert(EnvironmentSync, ["environment_id", "status", "requested_at", "started_at",
                                                          "finished_at", "result", "error"], (
        (env.pk, "succeeded", now - timedelta(minutes=15 * k), now - timedelta(minutes=15 * k),
         now - timedelta(minutes=15 * k), {"placements": agents}, "") for env in envs for k in range(96 * 30))))

    reset_sequences(Agent, Placement, Deployment, DeploymentOperation, DeploymentLogLine, ApprovalRequest, CostEntry,
                    CostIngestRun, HealthCheck, HealthResult, RbacAudit, RbacFinding, AuditEvent, EnvironmentSync)
    if connection.vendor == "postgresql":
        # What autovacuum does to a live database soon after a bulk load: statistics, and the visibility map that
        # lets counts read an index alone (without it every count over placements visits the table's rows).
        # VACUUM cannot run inside a transaction block.
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                cursor.execute("ANALYZE")
            else:
                cursor.execute("VACUUM ANALYZE")
    return {"big_run": big_run, "timings": timings}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000, help="agents (x3 placements, x10 runs); default 1000")
    parser.add_argument("--log-lines", type=int, default=50, help="log lines per run; the issue's scale is 50")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="YYYY-MM-DD")
    parser.add_argument("--reset", action="store_true", help="empty the tables this script fills first")
    parser.add_argument("--token", action="store_true", help="only add the bench user's API token (to a database "
                                                             "seeded before it existed) and stop")
    args = parser.parse_args(argv)
    if args.token:
        bench_token()
        return
    print(f"Seeding {args.agents:,} agents on {connection.vendor} ({connection.settings_dict['NAME']})")
    start = time.perf_counter()
    if args.reset:
        reset()
    result = seed(agents=args.agents, log_lines=args.log_lines, today=args.today)
    print(f"Done in {time.perf_counter() - start:.0f} s; the run with 10,000 log lines is #{result['big_run']}.")


if __name__ == "__main__":
    main()
