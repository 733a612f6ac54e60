"""Shared fixtures: role users (the permission matrix), a demo platform, a browser launcher."""

import datetime
import os
import shutil

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.test import Client

from portal.accounts import roles
from portal.accounts.services import roles_sync
from portal.celery import app as celery_app
from tests.factories import UserFactory

# pytest-xdist (`make test` runs on every core): each worker process gets its own Redis database as broker, so
# one worker's Celery worker never takes another's tasks (gw0 keeps the configured one, gw1 the one below...).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("CELERY_BROKER_URL", "").startswith("redis") and XDIST_WORKER[2:].isdigit():
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings as django_settings

    _url = urlsplit(os.environ["CELERY_BROKER_URL"])
    _db = (int(_url.path.strip("/") or 0) - int(XDIST_WORKER[2:])) % 16
    os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = django_settings.CELERY_BROKER_URL = \
        urlunsplit(_url._replace(path=f"/{_db}"))

# Tests never share the embedded broker with a portal running from the same checkout.
if not os.environ.get("CELERY_BROKER_URL"):
    from django.conf import settings as django_settings

    TEST_BROKER_FILE = django_settings.VAR_DIR / f"test-broker-{os.getpid()}.sqlite3"
    celery_app.conf.broker_url = f"sqla+sqlite:///{TEST_BROKER_FILE}"


@pytest.fixture(scope="session", autouse=True)
def worker_var_dir(tmp_path_factory):
    """Under pytest-xdist each worker writes what goes under var/ (the demo's git repository...) in its own
    directory, so two workers never build the same files at once."""
    if not XDIST_WORKER:
        yield
        return
    from django.test import override_settings

    var = tmp_path_factory.mktemp(f"var-{XDIST_WORKER}")
    with override_settings(VAR_DIR=var, PORTAL_SOURCES_DIR=var / "sources"):
        yield


@pytest.fixture(scope="session", autouse=True)
def remove_test_broker_file():
    yield
    if not os.environ.get("CELERY_BROKER_URL"):
        TEST_BROKER_FILE.unlink(missing_ok=True)

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

def clock_from(value: str, *, now: datetime.datetime) -> datetime.datetime | None:
    """PORTAL_TEST_CLOCK: an ISO date-time, or `month-end` (the last day of this month, 22:30 UTC: late evening,
    with time left before midnight for the suite to finish) or `month-start` (the 1st of next month, 00:05 UTC)."""
    value = (value or "").strip()
    if not value:
        return None
    first_of_next = (now.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    if value == "month-end":
        return datetime.datetime.combine(first_of_next - datetime.timedelta(days=1), datetime.time(22, 30),
                                         tzinfo=datetime.UTC)
    if value == "month-start":
        return datetime.datetime.combine(first_of_next, datetime.time(0, 5), tzinfo=datetime.UTC)
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


TEST_CLOCK = clock_from(os.environ.get("PORTAL_TEST_CLOCK", ""), now=datetime.datetime.now(datetime.UTC))


@pytest.fixture(autouse=True)
def test_clock(request):
    """CI's second pass runs every test with the clock at PORTAL_TEST_CLOCK (time-machine, ticking), e.g. the last
    day of a month late in the evening, so no test can depend on the day it happens to run. Tests marked
    `real_clock` start processes of their own, which cannot share a moved clock, and keep the real one."""
    if TEST_CLOCK is None or request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(TEST_CLOCK, tick=True):
        yield TEST_CLOCK


ROLE_USERS = {
    "viewer": roles.VIEWER,
    "engineer": roles.ENGINEER,
    "approver": roles.APPROVER,
    "admin": roles.PLATFORM_ADMIN,
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs about half a second per user; tests don't need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Every test starts with an empty cache and counts summaries on every view (PORTAL_SUMMARY_SECONDS), so
    nothing one test counted or rate-limited is seen by the next; tests of that caching turn it on."""
    from django.core.cache import cache

    cache.clear()
    settings.PORTAL_SUMMARY_SECONDS = 0


@pytest.fixture(autouse=True)
def instant_sandbox(settings):
    """The sandbox cloud finishes every resource at once, and runs poll without waiting."""
    settings.PORTAL_SANDBOX_SPEED = 0
    settings.PORTAL_DEPLOYMENT_POLL_SECONDS = 0.05
    settings.PORTAL_SANDBOX_FAULTS = []


@pytest.fixture
def role_groups(db):
    return roles_sync()


@pytest.fixture
def make_user(role_groups):
    def make(username, role=None, **kwargs):
        return UserFactory(username=username, role=role, **kwargs)

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("vera", roles.VIEWER)


@pytest.fixture
def engineer(make_user):
    return make_user("erin", roles.ENGINEER)


@pytest.fixture
def approver(make_user):
    return make_user("ada", roles.APPROVER)


@pytest.fixture
def platform_admin(make_user):
    return make_user("pat", roles.PLATFORM_ADMIN)


@pytest.fixture
def client_for():
    """client_for(user) -> a Django test client signed in as that user (None: anonymous)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def platform(db):
    """A small platform: dev with one node pool and one placed agent. Cheaper than `demo`."""
    from tests.factories import AgentFactory, EnvironmentFactory, NodePoolFactory, PlacementFactory, TeamFactory

    dev = EnvironmentFactory(name="dev", cosmos_containers=["orders"], event_hub_topics=["order-events"])
    NodePoolFactory(environment=dev, name="agents", min_nodes=2, max_nodes=20, taints=["workload=agents:NoSchedule"])
    agent = AgentFactory(slug="ecommerce-catalog-search", owner_team=TeamFactory(slug="ecommerce"))
    PlacementFactory(agent=agent, environment=dev, redis_db=1)
    return dev


@pytest.fixture
def demo(db):
    """The whole demo platform: 3 environments, 21 agents, demo users."""
    from portal.catalog.demo import demo_load

    demo_load()


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Real Chromium (Debian's) through Playwright. Skipped only where Chromium is absent, and never
    when PORTAL_REQUIRE_BROWSER is set (CI), where its absence is a failure."""
    if CHROMIUM is None:
        if os.environ.get("PORTAL_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (PORTAL_REQUIRE_BROWSER) but /usr/bin/chromium is missing.")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


CSP_VIOLATION_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation") or "Content Security Policy" in text


@pytest.fixture(autouse=True)
def csp_violations(request):
    """Every browser context a browser test opens reports Content-Security-Policy violations here (Chromium's own
    console message and the page's securitypolicyviolation event); the test fails on any."""
    if request.node.get_closest_marker("browser") is None:
        yield []
        return
    browser = request.getfixturevalue("browser")
    violations: list[str] = []
    original = browser.new_context

    def new_context(*args, **kwargs):
        context = original(*args, **kwargs)
        context.add_init_script(CSP_VIOLATION_LISTENER)
        context.on("console", lambda message: violations.append(f"{message.page.url if message.page else ''}: "
                                                                 f"{message.text}")
                   if _is_csp_violation(message.text) else None)
        return context

    browser.new_context = new_context
    try:
        yield violations
    finally:
        browser.new_context = original
    assert violations == [], "a page reported Content-Security-Policy violations"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    """login(page, username, password): sign in through the real sign-in form."""

    def sign_in(page, username, password="pw-for-tests-1"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return sign_in


def all_queues() -> list[str]:
    from django.conf import settings

    return sorted({queue for spec in settings.PORTAL_WORKERS.values() for queue in spec["queues"]})


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (solo pool, in a thread) consuming from the configured broker: Redis in CI,
    the embedded SQLAlchemy broker otherwise. Per module, so modules that start worker processes of their
    own (test_worker_crash) have the queue to themselves. Tests using it need django_db(transaction=True) so the
    worker sees committed rows."""
    with django_db_blocker.unblock():
        celery_app.control.purge()  # messages left by earlier runs name rows that no longer exist
        with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=30, queues=all_queues()) as worker:
            yield worker


@pytest.fixture
def fake_k8s():
    """A fake Kubernetes API server over real HTTP with the design document's pools (system 2, agents 3,
    crud 1 nodes, tainted as designed)."""
    from provisioning.cluster import DEFAULT_POOLS
    from provisioning.cluster.sandbox import node_name
    from tests.provisioning.fake_k8s import FakeKubernetesServer

    with FakeKubernetesServer() as server:
        for pool in DEFAULT_POOLS:
            for i in range(pool.node_count):
                server.add_node(node_name(pool.name, i), pool=pool.name, taints=pool.taints)
        yield server
