"""AzureCost against the real azure-mgmt-costmanagement client, its HTTP answered in-process by a fake
Cost Management (no socket): paging through nextLink, throttling with Cost Management's own
retry-after headers, columns in any order, the forecast."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from azure.core.rest import HttpRequest, HttpResponse

from provisioning.cost.azure import AzureCost, throttle_wait
from provisioning.cost.base import CostBackend, CostError, CostRow
from tests.provisioning.arm_transport import BASE_URL, FakeCredential, FakeResponse, InProcessTransport

SUB = "00000000-0000-0000-0000-00000000c057"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/holidaypeakhub-dev-rg"
TODAY = date(2026, 11, 28)
QPU = "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"
ENTITY = "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"
TENANT = "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after"

QUERY_COLUMNS = [("Cost", "Number"), ("UsageDate", "Number"), ("ServiceName", "String"),
                 ("ResourceGroupName", "String"), ("TagKey", "String"), ("TagValue", "String"),
                 ("Currency", "String")]
FORECAST_COLUMNS = [("Cost", "Number"), ("UsageDate", "Number"), ("CostStatus", "String"), ("Currency", "String")]
_ROUTE = re.compile(r"^/subscriptions/[^/]+(/resourcegroups/[^/]+)?/providers/microsoft\.costmanagement/"
                    r"(?P<op>query|forecast)$")


# --- A fake Cost Management ---------------------------------------------------------------------

@dataclass
class Throttle:
    """Answer the next request whose path matches `path` (a glob) with this status and headers."""

    headers: dict[str, str]
    path: str = "*"
    status: int = 429
    code: str = "429"
    message: str = "Too many requests. Please retry."
    after: int = 0                     # matching requests to let through first


@dataclass
class FakeCostManagement:
    """Answers POST {scope}/providers/Microsoft.CostManagement/{query,forecast} from canned tables,
    `page_size` rows a page, each page's nextLink an absolute URL with an opaque $skiptoken that must
    be POSTed with the same body. Scripted errors (`failures`) answer first, in order."""

    query_rows: list[dict[str, Any]] = field(default_factory=list)
    query_columns: list[tuple[str, str]] = field(default_factory=lambda: list(QUERY_COLUMNS))
    forecast_rows: list[dict[str, Any]] = field(default_factory=list)
    forecast_columns: list[tuple[str, str]] = field(default_factory=lambda: list(FORECAST_COLUMNS))
    page_size: int = 2
    failures: list[Throttle] = field(default_factory=list)
    requests: list[HttpRequest] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    core_sleeps: list[float] = field(default_factory=list)     # what azure-core's own retry slept

    def transport(self) -> FakeCostTransport:
        return FakeCostTransport(self)

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        body = json.loads(request.content) if request.content else None
        self.bodies.append(body)
        split = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if request.headers.get("Authorization") != f"Bearer {FakeCredential.token}":
            return _error(request, 401, "AuthenticationFailed", "Authentication failed.")
        if f"{split.scheme}://{split.netloc}" != BASE_URL or "api-version" not in query:
            return _error(request, 400, "BadRequest", "Unexpected host or no api-version.")
        for failure in self.failures:
            if fnmatch.fnmatchcase(split.path.lower(), failure.path.lower()):
                if failure.after:
                    failure.after -= 1
                    break
                self.failures.remove(failure)
                return _error(request, failure.status, failure.code, failure.message, failure.headers)
        route = _ROUTE.match(split.path.lower())
        if request.method != "POST" or route is None:
            return _error(request, 404, "NotFound", f"No route for {request.method} {split.path}")
        if not isinstance(body, dict) or not {"type", "timeframe", "dataset"} <= body.keys():
            return _error(request, 400, "BadRequest", "Invalid query definition.")
        if "$skiptoken" in query and body != self.bodies[0]:
            return _error(request, 400, "BadRequest", "A next link must be sent with the query's own body.")
        if route["op"] == "query":
            columns, rows = self.query_columns, _filtered(self.query_rows, body["dataset"].get("filter"))
        else:
            columns, rows = self.forecast_columns, self.forecast_rows
        start = int(base64.b64decode(query.get("$skiptoken", base64.b64encode(b"0"))).decode())
        page = rows[start:start + self.page_size]
        next_link = None
        if start + self.page_size < len(rows):
            token = quote(base64.b64encode(str(start + self.page_size).encode()).decode())
            next_link = f"{BASE_URL}{split.path}?api-version={query['api-version']}&$skiptoken={token}"
        return FakeResponse(request, 200, {
            "id": f"{split.path}/{route['op']}/fake",
            "name": "fake",
            "type": f"Microsoft.CostManagement/{route['op']}",
            "properties": {
                "nextLink": next_link,
                "columns": [{"name": name, "type": kind} for name, kind in columns],
                "rows": [[row.get(name) for name, _ in columns] for row in page],
            },
        })


def _filtered(rows: list[dict[str, Any]], where: Any) -> list[dict[str, Any]]:
    """Cost Management's dataset filter, for the one form the portal sends: ResourceGroupName In [...]."""
    if not where:
        return rows
    dimension = where["dimensions"]
    assert (dimension["name"], dimension["operator"]) == ("ResourceGroupName", "In"), where
    wanted = {value.lower() for value in dimension["values"]}
    return [row for row in rows if str(row.get("ResourceGroupName", "")).lower() in wanted]


class FakeCostTransport(InProcessTransport):
    def __init__(self, fake: FakeCostManagement) -> None:
        self.fake = fake

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.fake.handle(request)


    def sleep(self, duration: float) -> None:
        self.fake.core_sleeps.append(duration)


def _error(request: HttpRequest, status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> HttpResponse:
    return FakeResponse(request, status, {"error": {"code": code, "message": message}}, headers)


def query_row(day: int, cost: float, service: str, agent: str = "", *,
              group: str = "holidaypeakhub-dev-rg") -> dict[str, Any]:
    return {"Cost": cost, "UsageDate": 20261100 + day, "ServiceName": service, "ResourceGroupName": group,
            "TagKey": "agent" if agent else "", "TagValue": agent, "Currency": "USD"}


ROWS = [
    query_row(1, 8.25, "Azure Kubernetes Service"),
    query_row(1, 0.0125, "Azure Cosmos DB", "ecommerce-catalog-search"),
    query_row(2, 4.9, "Redis Cache"),
    query_row(2, 0.1, "Storage", "crm-support-assistance"),
    query_row(3, 1.75, "Azure Cosmos DB"),
]
EXPECTED = [
    CostRow(date(2026, 11, 1), "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal("8.25"), "USD"),
    CostRow(date(2026, 11, 1), "Azure Cosmos DB", "holidaypeakhub-dev-rg", "ecommerce-catalog-search",
            Decimal("0.0125"), "USD"),
    CostRow(date(2026, 11, 2), "Redis Cache", "holidaypeakhub-dev-rg", "", Decimal("4.9"), "USD"),
    CostRow(date(2026, 11, 2), "Storage", "holidaypeakhub-dev-rg", "crm-support-assistance", Decimal("0.1"), "USD"),
    CostRow(date(2026, 11, 3), "Azure Cosmos DB", "holidaypeakhub-dev-rg", "", Decimal("1.75"), "USD"),
]


@pytest.fixture
def fake() -> FakeCostManagement:
    return FakeCostManagement(query_rows=list(ROWS))


@dataclass
class Backend:
    cost: AzureCost
    sleeps: list[float]


def backend(fake: FakeCostManagement, **kwargs: Any) -> Backend:
    sleeps: list[float] = []
    return Backend(AzureCost(FakeCredential(), transport=fake.transport(), sleep=sleeps.append, **kwargs), sleeps)


@pytest.fixture
def azure(fake: FakeCostManagement) -> Iterator[Backend]:
    made = backend(fake)
    yield made
    made.cost.close()


# --- Month to date ------------------------------------------------------------------------------

def test_azure_cost_is_a_cost_backend(azure: Backend) -> None:
    typed: CostBackend = azure.cost
    assert typed.kind == "azure"


def test_query_asks_for_daily_actual_cost_from_the_first_grouped_by_service_group_and_agent(
        fake: FakeCostManagement, azure: Backend) -> None:
    azure.cost.month_to_date(scope=SCOPE, today=TODAY)

    first = fake.requests[0]
    assert first.method == "POST"
    assert urlsplit(first.url).path == f"{SCOPE}/providers/Microsoft.CostManagement/query"
    assert fake.bodies[0] == {
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-28T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ServiceName"},
                         {"type": "Dimension", "name": "ResourceGroupName"},
                         {"type": "TagKey", "name": "agent"}],
        },
    }


def test_month_to_date_follows_every_next_link_with_the_same_body(fake: FakeCostManagement, azure: Backend) -> None:
    rows = azure.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert rows == EXPECTED
    assert len(fake.requests) == 3                               # 5 rows, 2 a page
    assert all(r.method == "POST" for r in fake.requests)
    assert "$skiptoken" not in fake.requests[0].url
    for request in fake.requests[1:]:
        assert "$skiptoken=" in request.url and "api-version=" in request.url
        assert request.headers["Authorization"] == f"Bearer {FakeCredential.token}"
    assert fake.bodies[1] == fake.bodies[2] == fake.bodies[0]
    assert azure.sleeps == []


def test_a_single_page_answer_makes_one_request(fake: FakeCostManagement, azure: Backend) -> None:
    fake.page_size = 100

    assert azure.cost.month_to_date(scope=SCOPE, today=TODAY) == EXPECTED
    assert len(fake.requests) == 1


def test_an_empty_month_has_no_rows(fake: FakeCostManagement, azure: Backend) -> None:
    fake.query_rows = []

    assert azure.cost.month_to_date(scope=SCOPE, today=date(2026, 12, 1)) == []
    assert fake.bodies[0]["timePeriod"] == {"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T23:59:59Z"}


@pytest.mark.parametrize("order", [
    ["UsageDate", "ServiceName", "ResourceGroupName", "TagKey", "TagValue", "Currency", "Cost"],
    ["Currency", "TagValue", "TagKey", "Cost", "ResourceGroupName", "UsageDate", "ServiceName"],
    ["ResourceGroupName", "Cost", "Currency", "UsageDate", "TagValue", "ServiceName", "TagKey"],
])
def test_columns_are_read_by_name_whatever_their_order(fake: FakeCostManagement, azure: Backend,
                                                       order: list[str]) -> None:
    kinds = dict(QUERY_COLUMNS)
    fake.query_columns = [(name, kinds[name]) for name in order]

    assert azure.cost.month_to_date(scope=SCOPE, today=TODAY) == EXPECTED


def test_an_older_answer_shape_is_read_too(fake: FakeCostManagement, azure: Backend) -> None:
    """PreTaxCost for the cost, an ISO date string, the tag as a column named after it."""
    fake.query_columns = [("agent", "String"), ("UsageDate", "Datetime"), ("PreTaxCost", "Number"),
                          ("ServiceName", "String"), ("ResourceGroupName", "String"), ("Currency", "String")]
    fake.query_rows = [{"agent": row["TagValue"], "UsageDate": f"2026-11-{row['UsageDate'] % 100:02d}T00:00:00",
                        "PreTaxCost": row["Cost"], "ServiceName": row["ServiceName"],
                        "ResourceGroupName": row["ResourceGroupName"], "Currency": "USD"} for row in ROWS]

    assert azure.cost.month_to_date(scope=SCOPE, today=TODAY) == EXPECTED


def test_a_tag_other_than_agent_is_not_an_agent(fake: FakeCostManagement, azure: Backend) -> None:
    fake.query_rows = [{**query_row(4, 2.0, "Storage"), "TagKey": "environment", "TagValue": "dev"}]

    [row] = azure.cost.month_to_date(scope=SCOPE, today=TODAY)
    assert row.agent == ""


def test_an_answer_without_a_cost_column_is_an_error(fake: FakeCostManagement, azure: Backend) -> None:
    fake.query_columns = [(name, kind) for name, kind in QUERY_COLUMNS if name != "Cost"]

    with pytest.raises(CostError) as raised:
        azure.cost.month_to_date(scope=SCOPE, today=TODAY)
    assert raised.value.code == "UnexpectedResponse"
    assert not raised.value.transient


# --- Throttling ---------------------------------------------------------------------------------

def test_throttled_query_waits_for_the_longest_retry_after_then_succeeds(
        fake: FakeCostManagement, azure: Backend) -> None:
    fake.failures = [
        Throttle({QPU: "7", ENTITY: "3", TENANT: "12"}),
        Throttle({ENTITY: "4", "Retry-After": "9"}),
    ]

    rows = azure.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert rows == EXPECTED
    assert azure.sleeps == [12.0, 9.0]
    assert fake.core_sleeps == []          # azure-core did not retry the 429 itself (not even with Retry-After)
    assert len(fake.requests) == 2 + 3


def test_a_throttled_next_page_is_retried_without_starting_over(fake: FakeCostManagement, azure: Backend) -> None:
    fake.failures = [Throttle({QPU: "30"}, after=1)]          # the first page goes through, the second is throttled

    rows = azure.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert rows == EXPECTED
    assert azure.sleeps == [30.0]
    urls = [request.url for request in fake.requests]
    assert len(urls) == 4 and "$skiptoken" not in urls[0]
    assert urls[1] == urls[2] != urls[3]                       # the same next link, tried again
    assert all(body == fake.bodies[0] for body in fake.bodies)


def test_gives_up_after_the_cap_with_a_transient_error(fake: FakeCostManagement) -> None:
    made = backend(fake, max_throttle_retries=3)
    fake.failures = [Throttle({QPU: str(n), TENANT: "2"}) for n in (5, 6, 7, 8, 9)]

    with pytest.raises(CostError) as raised:
        made.cost.month_to_date(scope=SCOPE, today=TODAY)

    error = raised.value
    assert error.transient
    assert error.retry_after == 8.0
    assert error.code == "429"
    assert made.sleeps == [5.0, 6.0, 7.0]
    assert len(fake.requests) == 4         # the first try and three retries
    assert len(fake.failures) == 1


def test_a_wait_longer_than_the_limit_is_not_slept_but_handed_to_the_caller(fake: FakeCostManagement) -> None:
    made = backend(fake, max_throttle_wait=60)
    fake.failures = [Throttle({TENANT: "3600"})]

    with pytest.raises(CostError) as raised:
        made.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert raised.value.transient and raised.value.retry_after == 3600.0
    assert made.sleeps == []


def test_a_429_without_any_retry_after_backs_off(fake: FakeCostManagement, azure: Backend) -> None:
    fake.failures = [Throttle({}), Throttle({})]

    assert azure.cost.month_to_date(scope=SCOPE, today=TODAY) == EXPECTED
    assert azure.sleeps == [5.0, 10.0]


def test_throttle_wait_reads_every_cost_management_header_and_retry_after() -> None:
    client = "x-ms-ratelimit-microsoft.costmanagement-client-retry-after"
    assert throttle_wait({QPU: "7", ENTITY: "3", TENANT: "12", client: "15"}) == 15.0
    assert throttle_wait({"Retry-After": "20", QPU: "7"}) == 20.0
    assert throttle_wait({"retry-after-ms": "1500"}) == 1.5
    assert throttle_wait({QPU: "not a number", ENTITY: "2"}) == 2.0
    assert throttle_wait({}, attempt=5) == 60.0


def test_a_bad_request_is_not_transient_and_not_retried(fake: FakeCostManagement, azure: Backend) -> None:
    fake.failures = [Throttle({}, status=400, code="BadRequest", message="Invalid dataset grouping.")]

    with pytest.raises(CostError) as raised:
        azure.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert raised.value.code == "BadRequest"
    assert "Invalid dataset grouping" in raised.value.message
    assert not raised.value.transient
    assert azure.sleeps == [] and len(fake.requests) == 1


def test_a_server_error_is_transient_once_azure_core_gives_up(fake: FakeCostManagement) -> None:
    made = backend(fake, retry_total=0)
    fake.failures = [Throttle({}, status=503, code="ServiceUnavailable", message="Try later.")]

    with pytest.raises(CostError) as raised:
        made.cost.month_to_date(scope=SCOPE, today=TODAY)

    assert raised.value.code == "ServiceUnavailable" and raised.value.transient
    assert made.sleeps == []


# --- Forecast -----------------------------------------------------------------------------------

def forecast_row(day: int, cost: float, status: str) -> dict[str, Any]:
    return {"Cost": cost, "UsageDate": 20261100 + day, "CostStatus": status, "Currency": "USD"}


def test_forecast_asks_for_the_whole_month_with_actual_cost(fake: FakeCostManagement, azure: Backend) -> None:
    azure.cost.forecast(scope=SCOPE, today=TODAY)

    assert urlsplit(fake.requests[0].url).path == f"{SCOPE}/providers/Microsoft.CostManagement/forecast"
    assert fake.bodies[0] == {
        "type": "Usage",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"},
        "dataset": {"granularity": "Daily", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}}},
        "includeActualCost": True,
        "includeFreshPartialCost": False,
    }


def test_forecast_sums_actual_and_forecast_days_across_pages(fake: FakeCostManagement, azure: Backend) -> None:
    fake.forecast_rows = [forecast_row(day, 18.5, "Actual") for day in range(1, 29)]
    fake.forecast_rows += [forecast_row(29, 19.25, "Forecast"), forecast_row(30, 19.25, "Forecast")]
    fake.forecast_columns = [("CostStatus", "String"), ("Currency", "String"), ("UsageDate", "Number"),
                             ("Cost", "Number")]
    fake.page_size = 7

    forecast = azure.cost.forecast(scope=SCOPE, today=TODAY)

    assert forecast.month_total_actual == Decimal("518.0")
    assert forecast.month_end_forecast == Decimal("556.5")
    assert forecast.currency == "USD"
    assert [day for day, _ in forecast.daily] == [date(2026, 11, d) for d in range(1, 31)]
    assert forecast.daily[-1] == (date(2026, 11, 30), Decimal("19.25"))
    assert len(fake.requests) == 5          # 30 rows, 7 a page


def test_forecast_is_throttled_like_the_query(fake: FakeCostManagement, azure: Backend) -> None:
    fake.forecast_rows = [forecast_row(1, 3.0, "Actual"), forecast_row(2, 4.0, "Forecast")]
    fake.failures = [Throttle({ENTITY: "6"}, path="*/forecast")]

    forecast = azure.cost.forecast(scope=SCOPE, today=date(2026, 11, 1))

    assert (forecast.month_total_actual, forecast.month_end_forecast) == (Decimal("3.0"), Decimal("7.0"))
    assert azure.sleeps == [6.0]


def test_forecast_without_a_cost_status_counts_days_up_to_today_as_actual(
        fake: FakeCostManagement, azure: Backend) -> None:
    fake.forecast_columns = [("UsageDate", "Number"), ("Cost", "Number"), ("Currency", "String")]
    fake.forecast_rows = [forecast_row(27, 10.0, ""), forecast_row(28, 10.0, ""), forecast_row(29, 12.0, "")]

    forecast = azure.cost.forecast(scope=SCOPE, today=TODAY)

    assert forecast.month_total_actual == Decimal("20.0")
    assert forecast.month_end_forecast == Decimal("32.0")
