"""Production mode, run the way the README says (PORTAL_MODE=production, PostgreSQL, Redis, collected static
files, gunicorn, a worker and beat as separate processes, behind a gateway that sends X-Forwarded-Proto),
and what it survives: a broker outage during write actions, a worker killed while a run validates, a
database outage under running deployments.

One stack per module (about 40 s to set up). Rerun: `.venv/bin/python -m pytest tests/integration/test_production.py -q -p no:cacheprovider -s`
(-s prints the figures)."""

import os
import re
import shutil
import signal
import time

import pytest

from tests.integration.stack import Stack, deployment_id, missing_tools, post_forms, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.real_clock]
TERMINAL = ("succeeded", "failed", "cancelled")
SWEEP = 3  # PORTAL_OUTBOX_SWEEP_SECONDS in the stack
LEASE = 60  # PORTAL_DEPLOYMENT_LEASE_SECONDS (the default)


@pytest.fixture(scope="module")
def stack():
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (PostgreSQL and Redis binaries) to start a stack of its own")
    stack = Stack()
    try:
        yield stack
    except BaseException:
        raise
    finally:
        keep = os.environ.get("PORTAL_STACK_LOGS")  # a directory to keep the processes' logs in
        if keep:
            shutil.copytree(stack.dir, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("static", "var"))
        stack.destroy()


def status(stack, pk) -> str:
    return stack.pg.query("SELECT status FROM deployments_deployment WHERE id = %s", (pk,))[0][0]


def wait_status(stack, pk, wanted, timeout=60):
    return wait_for(lambda: status(stack, pk) in wanted and status(stack, pk), timeout=timeout,
                    what=f"deployment {pk} {wanted} (is {status(stack, pk)})")


def request_deployment(client, template, environment, reason="production smoke test"):
    path = f"/deployments/new/?template={template}&environment={environment}"
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    form = next(f for f in post_forms(page.text) if "reason" in f["fields"])
    fields = {**form["fields"], "reason": reason}
    response = client.post(path, fields)
    assert response.status_code == 302, (response.status_code, response.text[:2000])
    return deployment_id(response)


def open_outbox(stack) -> list:
    return stack.pg.query("SELECT id, task, state, attempts FROM core_outboxtask WHERE state IN ('pending', 'started')"
                          " ORDER BY id")


def test_production_smoke(stack):
    # Probes: plain HTTP from a load balancer, no redirect, no sign-in.
    anonymous = stack.client()
    anonymous.session.headers.pop("X-Forwarded-Proto")
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "database": "ok", "broker": "ok"}
    assert anonymous.get("/accounts/login/").status_code == 301  # everything else goes to https

    engineer = stack.client("engineer")
    home = engineer.get("/")
    assert home.status_code == 200
    assert home.headers["Strict-Transport-Security"].startswith("max-age=")
    css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', home.text)
    assert css, "the page links the collected, hashed stylesheet"
    assert engineer.get(css.group(1)).status_code == 200

    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', home.text, re.S).group(1)
    pages = re.findall(r'href="([^"]+)"', nav)
    assert len(pages) >= 8
    for path in pages + ["/system/", "/environments/dev/", "/costs/showback/"]:
        response = engineer.get(path)
        assert response.status_code == 200, (path, response.status_code)

    # One deployment to success (dev: preview, confirm, run).
    pk = request_deployment(engineer, "static-web-app", "dev")
    wait_status(stack, pk, ("previewed",))
    assert engineer.post(f"/deployments/{pk}/confirm/").status_code == 302
    assert wait_status(stack, pk, TERMINAL, timeout=90) == "succeeded"
    assert engineer.get(f"/deployments/{pk}/").status_code == 200

    # One approval (prod needs one from an Approver).
    pk = request_deployment(engineer, "static-web-app", "prod", reason="smoke: approval path")
    wait_status(stack, pk, ("previewed",))
    assert engineer.post(f"/deployments/{pk}/confirm/").status_code == 302
    assert status(stack, pk) == "awaiting_approval"
    approval = stack.pg.query("SELECT id FROM deployments_approvalrequest WHERE deployment_id = %s", (pk,))[0][0]
    approver = stack.client("approver")
    assert approver.get("/deployments/approvals/").status_code == 200
    decided = approver.post(f"/deployments/approvals/{approval}/", {"decision": "approve", "comment": "ok"})
    assert decided.status_code == 302, decided.status_code
    assert wait_status(stack, pk, TERMINAL, timeout=90) == "succeeded"
    # The requester hears the decision exactly once, and it is audited (mail fails here: no SMTP server).
    wait_for(lambda: not open_outbox(stack), timeout=30, what="outbox drained")
    told = stack.pg.query("SELECT count(*) FROM audit_auditevent WHERE action LIKE 'notification.%%' "
                          "AND object_repr LIKE %s", (f"%Approved:%(#{pk})",))[0][0]
    assert told == 1


def outbox_rows(stack, task, arg):
    return stack.pg.query("SELECT state, attempts, worker FROM core_outboxtask WHERE task = %s AND args->>0 = %s "
                          "ORDER BY id", (task, str(arg)))


def test_broker_outage_answers_every_action_and_loses_nothing(stack):
    stack.ensure_worker()
    engineer = stack.client("engineer")
    wait_for(lambda: not open_outbox(stack), timeout=30, what="outbox drained before the outage")
    deployments_before = stack.pg.query("SELECT coalesce(max(id), 0) FROM deployments_deployment")[0][0]
    syncs_before = stack.pg.query("SELECT count(*) FROM catalog_environmentsync")[0][0]
    audits_before = stack.pg.query("SELECT count(*) FROM access_rbacaudit")[0][0]
    ingests_before = stack.pg.query("SELECT count(*) FROM costs_costingestrun")[0][0]
    placement = stack.pg.query("SELECT p.id FROM catalog_placement p JOIN catalog_environment e ON e.id = p.environment_id"
                               " WHERE e.name = 'staging' ORDER BY p.id LIMIT 1")[0][0]

    stack.redis.stop()
    responses = []
    for env in ("dev", "staging", "prod"):
        responses.append(engineer.post(f"/environments/{env}/sync/"))
        responses.append(engineer.post(f"/environments/{env}/sync/"))  # "try again": no second sync
        responses.append(engineer.post(f"/access/{env}/audit/"))
    responses.append(engineer.post("/costs/ingest/"))
    responses.append(engineer.post(f"/deployments/cluster/{placement}/apply/"))
    new = [request_deployment(engineer, "static-web-app", "staging", reason="during the broker outage")]
    codes = [r.status_code for r in responses] + [302]
    page = engineer.get(responses[0].headers["Location"])
    assert "Queued: starts as soon as the task queue is reachable." in page.text
    system = engineer.get("/system/")
    assert "Down: the task queue cannot be reached." in system.text
    assert stack.client().get("/readyz").status_code == 503

    stack.redis.start()
    back = time.monotonic()
    deployments = [r[0] for r in stack.pg.query("SELECT id FROM deployments_deployment WHERE id > %s ORDER BY id",
                                                (deployments_before,))]

    def progress():
        syncs = stack.pg.query("SELECT status FROM catalog_environmentsync ORDER BY id")[syncs_before:]
        return {"open outbox rows": open_outbox(stack), "syncs": [s for (s,) in syncs],
                "runs": [status(stack, pk) for pk in deployments],
                "audits": stack.pg.query("SELECT count(*) FROM access_rbacaudit")[0][0] - audits_before,
                "ingests": stack.pg.query("SELECT count(*) FROM costs_costingestrun")[0][0] - ingests_before}

    def all_done():
        p = progress()
        return (not p["open outbox rows"] and p["syncs"] == ["succeeded"] * 3 and p["audits"] >= 3
                and p["ingests"] >= 3 and all(r in TERMINAL or r == "previewed" for r in p["runs"]))

    try:
        wait_for(all_done, timeout=60, what="all work done after the broker returned")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {progress()}") from None
    took = time.monotonic() - back
    five_hundreds = sum(c >= 500 for c in codes)
    duplicates = len(stack.pg.query("SELECT id FROM catalog_environmentsync")) - syncs_before - 3
    print(f"\nbroker outage: {len(codes)} write actions, {five_hundreds} 5xx, {duplicates} duplicate syncs, "
          f"{len(deployments)} runs for {len(new) + 1} asked, {len(open_outbox(stack))} stuck; all done {took:.1f} s "
          f"after the broker returned (sweep every {SWEEP} s)")
    assert five_hundreds == 0 and all(c == 302 for c in codes), codes
    assert duplicates == 0
    assert len(deployments) == 2  # the template run and the cluster run, once each
    assert status(stack, new[0]) == "previewed"
    assert took < SWEEP + 25  # a sweep interval, plus the worker's own reconnection to the broker


def test_worker_killed_while_a_run_validates_is_recovered(stack):
    stack.ensure_worker()
    engineer = stack.client("engineer")
    recovered = 0
    for env, name in (("dev", "w1"), ("staging", "w2")):
        stack.stop("worker")
        pk = request_deployment(engineer, "static-web-app", env, reason="killed while validating")
        import psycopg

        hold = psycopg.connect(stack.pg.dsn)  # hold the run's row: the worker stops inside its preview
        hold.execute("SELECT id FROM deployments_deployment WHERE id = %s FOR UPDATE", (pk,))
        stack.start_worker("w1")
        wait_for(lambda: [r for r in outbox_rows(stack, "portal.deployments.tasks.preview_deployment", pk)
                          if r[0] == "started"], timeout=30, what="preview started")
        stack.stop("worker", sig=signal.SIGKILL)
        hold.rollback()
        hold.close()
        assert status(stack, pk) == "validating"
        # w1 again: it takes back at start what it had started; w2: the lapsed lease and the sweep do.
        stack.start_worker(name)
        if wait_status(stack, pk, ("previewed", "failed"), timeout=40) == "previewed":
            recovered += 1
        rows = outbox_rows(stack, "portal.deployments.tasks.preview_deployment", pk)
        assert [r[0] for r in rows] == ["done"] and rows[0][1] == 2, rows  # one row, two attempts, no duplicate
    print(f"\nworker SIGKILLed while validating: {recovered} of 2 recovered")
    assert recovered == 2
    stack.stop("worker")
    stack.start_worker("w1")


def test_database_outage_answers_503_and_strands_nothing(stack):
    stack.ensure_worker()
    engineer = stack.client("engineer")
    runs = []
    for template, env in (("shared-infrastructure", "dev"), ("shared-infrastructure", "staging"),
                          ("static-web-app", "dev")):
        busy = stack.pg.query("SELECT count(*) FROM deployments_deployment d JOIN catalog_environment e ON "
                              "e.id = d.environment_id WHERE d.template = %s AND e.name = %s AND d.status IN "
                              "('queued', 'running')", (template, env))[0][0]
        if not busy:
            runs.append(request_deployment(engineer, template, env, reason="database outage"))
    for pk in runs:
        wait_status(stack, pk, ("previewed",))
        assert engineer.post(f"/deployments/{pk}/confirm/").status_code == 302
    wait_for(lambda: sum(status(stack, pk) == "running" for pk in runs) >= 2, timeout=30, what="runs running")
    # Syncs somebody asked for: beat's quarter-hourly ones (requested_by NULL) may fall inside the outage.
    asked = "SELECT count(*) FROM catalog_environmentsync WHERE requested_by_id IS NOT NULL"
    sync_before = stack.pg.query(asked)[0][0]

    stack.pg.stop()
    down = time.monotonic()
    codes = []
    while time.monotonic() - down < 20:
        codes.append(engineer.get("/").status_code)
        codes.append(engineer.get(f"/deployments/{runs[0]}/progress/?after=0", headers={"HX-Request": "true"}).status_code)
        codes.append(engineer.post("/environments/dev/sync/").status_code)
        codes.append(stack.client().get("/readyz").status_code)
        time.sleep(0.5)
    retry_after = engineer.get("/").headers.get("Retry-After")
    stack.pg.start()
    back = time.monotonic()
    db_back = stack.pg.query("SELECT now()")[0][0]
    interrupted = [pk for pk in runs if status(stack, pk) == "running"]

    def resumed(pk):  # the run's worker renewed its lease after the database returned (or the run ended)
        row = stack.pg.query("SELECT status, lease_expires_at FROM deployments_deployment WHERE id = %s", (pk,))[0]
        return row[0] in TERMINAL or (row[1] is not None and (row[1] - db_back).total_seconds() > LEASE - 10)

    resume_after = wait_for(lambda: all(resumed(pk) for pk in interrupted) and time.monotonic() - back, timeout=60,
                            what="interrupted runs resumed")
    finished = wait_for(lambda: all(status(stack, pk) in TERMINAL for pk in runs) and time.monotonic() - back,
                        timeout=150, what="every run finished after the database returned")
    wait_for(lambda: not open_outbox(stack), timeout=60, what="outbox drained")
    statuses = [status(stack, pk) for pk in runs]
    names = [r[0] for r in stack.pg.query("SELECT arm_deployment_name FROM deployments_deployment WHERE id = ANY(%s)",
                                          (runs,))]
    generations = [stack.pg.query("SELECT data->>'generation' FROM deployments_sandboxrecord WHERE key = %s",
                                  (f"deployment:{n.lower()}",))[0][0] for n in names]
    stuck = stack.pg.query("SELECT count(*) FROM deployments_deployment WHERE status IN "
                           "('validating', 'queued', 'running')")[0][0]
    stuck += stack.pg.query("SELECT count(*) FROM catalog_environmentsync WHERE status IN ('queued', 'running')")[0][0]
    print(f"\ndatabase outage 20 s: {len(runs)} runs ({len(interrupted)} running when it stopped), statuses {statuses},"
          f" ARM generations {generations}; {len(codes)} requests meanwhile: {sum(c == 503 for c in codes)} 503, "
          f"{sum(c == 500 for c in codes)} 500; interrupted runs resumed {resume_after:.1f} s and all finished "
          f"{finished:.1f} s after the database returned; {stuck} stuck")
    assert 500 not in codes and set(codes) <= {503}, sorted(set(codes))
    assert retry_after and int(retry_after) > 0
    assert statuses == ["succeeded"] * len(runs)  # none lost
    assert generations == ["1"] * len(runs)  # one ARM deployment each: nothing duplicated
    assert stuck == 0
    assert stack.pg.query(asked)[0][0] == sync_before  # no 503 wrote
    assert interrupted and resume_after < 15  # within seconds, not after the run's 60 s lease
