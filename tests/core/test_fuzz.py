"""No 5xx under bad input: every URL the resolver knows (the admin aside: Django's own), for every role, with
hostile path values, queries and form bodies (NUL bytes, 10,000-character strings, unicode, out-of-range months,
dates and numbers, deeply nested JSON, malformed ids) and every method. 0 responses >= 500.

Two parts: a sweep that sends each route x role x method once with the hostile values in turn, and a hypothesis
search on top (bounded: HYPOTHESIS_EXAMPLES). Together about two minutes on a small machine; rerun with
`pytest tests/core/test_fuzz.py -q` (PORTAL_FUZZ_EXAMPLES=N for a longer search)."""

import itertools
import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from portal.catalog.models import EnvironmentSync, Placement
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import Deployment

ROLES = ["anonymous", "viewer", "engineer", "approver", "admin"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
HYPOTHESIS_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "300"))


def nested_json(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


HOSTILE = [
    "\x00", "a\x00b", "x" * 10_000, "é" * 5_000, "💥\u202e\u200b", "日本語", "9999-12", "0001-01", "0000-00", "2026-13",
    "2026-02-30", "-1", "0", "99999999999999999999", "2147483648", "9223372036854775808", "1e309", "NaN", "-inf",
    "١٢٣", "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "%00", "", " ", "null", "[]", "{}",
    "[" * 3_000 + "]" * 3_000, nested_json(3_000), nested_json(40), '{"__proto__": {"x": 1}}', "true",
    "2026-11-31", "10000-01-01", "unknown", "1.2.3.4:5678",
]


SHORT_HOSTILE = [  # the values most likely to break something, for the longer loops
    "\x00", "x" * 10_000, "💥\u202e\u200b", "9999-12", "0001-01", "-1", "99999999999999999999", "1e309",
    "NaN", "2026-02-30", "١٢٣", "", nested_json(3_000), "[" * 3_000 + "]" * 3_000, nested_json(40),
]


def routes():
    """(pattern string, route name with namespace, converters) for every URL the resolver knows."""
    found = []

    def walk(resolver, prefix, namespace):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                found.append((prefix + str(entry.pattern), f"{namespace}{entry.name}", entry.pattern.converters))

    walk(get_resolver(), "", "")
    return found


ROUTES = routes()
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


@pytest.fixture
def world(platform, viewer, engineer, approver, platform_admin):
    deployment = Deployment.objects.create(environment=platform, template="agent", status=DeploymentStatus.PREVIEWED)
    valid = {
        "name": "dev", "slug": "ecommerce-catalog-search", "pk": str(deployment.pk), "placement_id":
        str(Placement.objects.get().pk), "action": "restart", "service": "Azure Kubernetes Service",
        "role": "7f951dda-4ed3-4680-a7ca-43fe172d538d", "field": "slug", "environment": "dev",
    }
    EnvironmentSync.objects.create(environment=platform)
    clients = {}
    for role, user in {"anonymous": None, "viewer": viewer, "engineer": engineer, "approver": approver,
                       "admin": platform_admin}.items():
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        clients[role] = client
    fields = discover_fields(clients["admin"], valid)
    return {"valid": valid, "clients": clients, "fields": fields}


def build_path(pattern: str, values: dict) -> str:
    return "/" + PARAM.sub(lambda m: quote(values[m.group(2)], safe=""), pattern)


def discover_fields(client, valid) -> list[str]:
    """The names of every form field and query the portal's pages render (as a Platform admin), so bodies and
    queries reach real form fields; plus the query names the views read."""
    names = {"month", "q", "domain", "team", "environment", "resource_group", "format", "table", "after", "status",
             "template", "actor", "action", "object_type", "page", "kind", "state", "next", "step", "reason",
             "comment", "replicas", "decision", "p_agentName"}
    for pattern, _name, _converters in ROUTES:
        response = client.get(build_path(pattern, valid))
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            names.update(re.findall(r'name="([^"]+)"', response.content.decode()))
    for template in ("agent", "shared-infrastructure", "static-web-app", "role-assignment"):
        response = client.get("/deployments/new/", {"template": template, "environment": "dev"})
        names.update(re.findall(r'name="([^"]+)"', response.content.decode()))
    names.discard("csrfmiddlewaretoken")
    return sorted(names)


def send(client, method: str, path: str, query: dict, body: dict):
    if method == "GET":
        return client.get(path, query)
    if method == "HEAD":
        return client.head(path, query)
    if method == "OPTIONS":
        return client.options(path)
    if method == "POST":
        return client.post(f"{path}?{_qs(query)}" if query else path, body)
    payload = json.dumps(body)
    return getattr(client, method.lower())(path, payload, content_type="application/json")


def _qs(query: dict) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())


def path_values(route_converters, valid, hostile: str) -> dict:
    """The route's parameters: valid ones, except one hostile value where its converter lets it through."""
    values = dict(valid)
    for name, converter in route_converters.items():
        if re.fullmatch(converter.regex, hostile):
            values[name] = hostile
    return values


def test_every_route_role_and_method_survives_hostile_input(world):
    failures = []
    sent = 0
    cycle = itertools.cycle(HOSTILE)
    for (pattern, name, converters), role, method in itertools.product(ROUTES, ROLES, METHODS):
        hostile = next(cycle)
        query = {field: hostile for field in world["fields"][::3]}
        body = {field: next(cycle) for field in world["fields"]}
        path = build_path(pattern, path_values(converters, world["valid"], hostile))
        response = send(world["clients"][role], method, path, query, body)
        sent += 1
        if response.status_code >= 500:
            failures.append(f"{role} {method} {name} {path[:120]!r} -> {response.status_code} (hostile {hostile[:40]!r})")
    print(f"fuzz sweep: {sent} requests, {len(failures)} >= 500")
    assert sent == len(ROUTES) * len(ROLES) * len(METHODS) >= 40 * 5 * 7
    assert failures == []


class FormReader(HTMLParser):
    """The forms of a page: each one's action, method and the values a person would send unchanged."""

    def __init__(self):
        super().__init__()
        self.forms, self._select, self._textarea = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").upper(),
                               "values": {}})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["values"][a["name"]] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["values"].setdefault(a["name"], "")
        elif tag == "option" and self._select and ("selected" in a or not self.forms[-1]["values"][self._select]):
            self.forms[-1]["values"][self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.forms[-1]["values"][a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["values"][self._textarea] += data


FORM_PAGES = ["/environments/dev/edit/", "/costs/environments/dev/budget/", "/agents/new/",
              "/deployments/new/?template=shared-infrastructure&environment=dev",
              "/deployments/new/?template=agent&environment=dev", "/agents/ecommerce-catalog-search/",
              "/deployments/RUN/", "/environments/dev/", "/access/dev/"]

def test_each_form_field_alone_with_each_hostile_value(world):
    """The forms as a Platform admin fills them in, one field at a time replaced by each hostile value, so the value
    gets past every other field's validation to the code behind (JSON parsing, dates, the database)."""
    client = world["clients"]["admin"]
    failures, sent = [], 0
    for page in FORM_PAGES:
        url = page.replace("RUN", world["valid"]["pk"])
        reader = FormReader()
        reader.feed(client.get(url).content.decode())
        for form in reader.forms:
            if form["method"] != "POST" or "logout" in form["action"]:
                continue
            action = form["action"] or url
            values = {k: v for k, v in form["values"].items() if k != "csrfmiddlewaretoken"}
            for field, hostile in itertools.product(values, SHORT_HOSTILE):
                response = client.post(action, {**values, field: hostile})
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"POST {action} {field}={hostile[:40]!r} -> {response.status_code}")
    print(f"form fuzz: {sent} requests, {len(failures)} >= 500")
    assert sent > 500
    assert failures == []


hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(lambda d: f"{d:%Y-%m}"),
    st.dates().map(lambda d: d.isoformat()),
    st.integers(min_value=1, max_value=5_000).map(nested_json),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@hypothesis_settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])
@given(data=st.data())
def test_hypothesis_finds_no_5xx(world, data):
    pattern, name, converters = data.draw(st.sampled_from(ROUTES), label="route")
    role = data.draw(st.sampled_from(ROLES), label="role")
    method = data.draw(st.sampled_from(METHODS), label="method")
    values = dict(world["valid"])
    for param, converter in converters.items():
        candidate = data.draw(st.one_of(st.just(values[param]), hostile_text), label=param)
        if re.fullmatch(converter.regex, candidate):
            values[param] = candidate
    fields = st.sampled_from(world["fields"]) | st.text(min_size=1, max_size=20)
    query = data.draw(st.dictionaries(fields, hostile_text, max_size=4), label="query")
    body = data.draw(st.dictionaries(fields, hostile_text, max_size=8), label="body")
    response = send(world["clients"][role], method, build_path(pattern, values), query, body)
    assert response.status_code < 500, (role, method, name, values, query, body)
