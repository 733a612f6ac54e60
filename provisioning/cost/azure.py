"""Azure: the CostBackend over azure-mgmt-costmanagement (5.x, the TypeSpec-generated client).

How the calls map:

    month_to_date  query.usage(scope, QueryDefinition): ActualCost, Custom period from the 1st to
                   today, Daily, Sum of Cost, grouped by ServiceName, ResourceGroupName and tag `agent`;
                   then every `nextLink`, POSTed with the same body through the client's own pipeline
                   (the SDK has no pager for this operation)
    forecast       forecast.usage(scope, ForecastDefinition): Usage, Custom period over the whole month
                   with includeActualCost, so the past days come back as actual cost and the rest as
                   forecast (the API returns actual cost only for days inside the period it is asked)

Rows are read by column NAME: Cost Management orders its columns as it likes (cost first or last,
grouping columns in any order), names the cost column after the metric ("Cost", "PreTaxCost") or the
alias, writes daily dates as numbers (20261128), and gives a tag grouping as TagKey + TagValue
columns (older answers: a column named after the tag). All of those are read.

Throttling: Cost Management answers 429 with `x-ms-ratelimit-microsoft.costmanagement-{qpu,entity,
tenant,...}-retry-after` headers, and usually no standard Retry-After. azure-core's retry policy reads
only Retry-After (and retry-after-ms), and does not retry a POST without it, so this module takes
429s away from azure-core entirely and handles them itself: it waits for the largest of all those
headers (through the injected `sleep`), tries again up to `max_throttle_retries` times, then raises
CostError(transient=True, retry_after=...). A wait longer than `max_throttle_wait` is not slept at
all: the CostError is raised at once, so a worker reschedules instead of blocking. Other transient
failures (5xx, connection errors) stay with azure-core's retry policy (`retry_total`).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time as clock
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.costmanagement.models import (
    ForecastAggregation,
    ForecastComparisonExpression,
    ForecastDataset,
    ForecastDefinition,
    ForecastFilter,
    ForecastResult,
    ForecastTimePeriod,
    QueryAggregation,
    QueryComparisonExpression,
    QueryDataset,
    QueryDefinition,
    QueryFilter,
    QueryGrouping,
    QueryResult,
    QueryTimePeriod,
)

from provisioning.backends.base import NO_CREDENTIAL_MESSAGE, ErrorCode, is_missing_credential

from .base import AGENT_TAG, CostError, CostRow, Forecast, month_end, month_start

ARM_BASE_URL = "https://management.azure.com"
COST_METRIC = "Cost"                    # ActualCost's metric; older agreements also answer PreTaxCost
COST_ALIAS = "totalCost"
QUERY_TYPE = "ActualCost"
FORECAST_TYPE = "Usage"
MAX_PAGES = 1000                        # 5,000 rows a page: far beyond a month of this platform

_RATE_LIMIT_HEADER = re.compile(r"^x-ms-ratelimit-microsoft\.costmanagement-[a-z0-9-]+-retry-after$")
_COST_COLUMNS = ("cost", "pretaxcost", COST_ALIAS.lower(), "costusd", "pretaxcostusd")
_DATE_COLUMNS = ("usagedate", "date", "billingmonth")
_CURRENCY_COLUMNS = ("currency", "billingcurrency", "billingcurrencycode")

T = TypeVar("T")
_Result = QueryResult | ForecastResult


class AzureCost:
    """CostBackend for whatever scopes `credential` may read. `transport` replaces the HTTP layer
    (tests answer in-process); `sleep` is what throttling waits with; other keyword arguments go to
    CostManagementClient (azure-core pipeline options: `retry_total` (3 here), `logging_enable`, ...).
    A `retry_policy` given replaces ThrottlingLeftToCaller: it should leave 429s alone too."""

    kind = "azure"

    def __init__(
        self,
        credential: TokenCredential,
        *,
        transport: HttpTransport[Any, Any] | None = None,
        max_throttle_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_wait: float = 300.0,
        base_url: str = ARM_BASE_URL,
        **client_kwargs: Any,
    ) -> None:
        self.max_throttle_retries = max_throttle_retries
        self.max_throttle_wait = max_throttle_wait
        self.sleep = sleep
        retry_policy = client_kwargs.pop("retry_policy", None)
        if retry_policy is None:
            retry_options = {k: client_kwargs.pop(k) for k in list(client_kwargs) if k.startswith("retry_")}
            retry_options.setdefault("retry_total", 3)
            retry_policy = ThrottlingLeftToCaller(**retry_options)
        options: dict[str, Any] = {"retry_policy": retry_policy, **client_kwargs}
        if transport is not None:
            options["transport"] = transport
        self.client = CostManagementClient(credential, base_url, **options)

    def close(self) -> None:
        self.client.close()

    # --- CostBackend ----------------------------------------------------------------------------

    def month_to_date(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> list[CostRow]:
        definition = query_definition(today, resource_groups)
        first = self._throttled(lambda: self.client.query.usage(scope, definition))
        rows: list[CostRow] = []
        for result in self._pages(first, definition.as_dict(), QueryResult):
            rows.extend(cost_rows(*_table(result)))
        return rows

    def forecast(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> Forecast:
        definition = forecast_definition(today, resource_groups)
        first = self._throttled(lambda: self.client.forecast.usage(scope, definition))
        actual, projected = Decimal(0), Decimal(0)
        by_day: dict[date, Decimal] = {}
        currency = ""
        for result in self._pages(first, definition.as_dict(), ForecastResult):
            for day, cost, row_currency, is_actual in forecast_rows(*_table(result), today=today):
                by_day[day] = by_day.get(day, Decimal(0)) + cost
                if is_actual:
                    actual += cost
                else:
                    projected += cost
                currency = currency or row_currency
        return Forecast(month_total_actual=actual, month_end_forecast=actual + projected,
                        currency=currency or "USD", daily=sorted(by_day.items()))

    # --- Paging and throttling ------------------------------------------------------------------

    def _pages(self, first: T | None, body: dict[str, Any], model: Callable[[Any], T]) -> Iterator[T]:
        """The first answer, then every page its nextLink chain leads to. Cost Management wants each
        next link POSTed with the original body; the client's pipeline (auth, retries, logging)
        sends it, as it sent the first."""
        result: T | None = first
        seen: set[str] = set()
        while result is not None:
            yield result
            next_link = _next_link(result)
            if not next_link:
                return
            if next_link in seen or len(seen) >= MAX_PAGES:
                raise CostError("PagingLoop",
                                f"Cost Management repeated a page or sent over {MAX_PAGES}: {next_link}")
            seen.add(next_link)
            result = self._throttled(lambda: self._post(next_link, body, model))

    def _post(self, url: str, body: dict[str, Any], model: Callable[[Any], T]) -> T | None:
        request = HttpRequest("POST", _with_api_version(url, self.client._config.api_version), json=body)
        response = self.client.send_request(request)
        if response.status_code not in (200, 204):
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        if response.status_code == 204 or not response.content:
            return None
        return model(response.json())

    def _throttled(self, send: Callable[[], T]) -> T:
        throttled = 0
        while True:
            try:
                return send()
            except HttpResponseError as exc:
                if exc.status_code != 429 or exc.response is None:
                    raise cost_error_from(exc) from exc
                wait = throttle_wait(exc.response.headers, attempt=throttled)
                if throttled >= self.max_throttle_retries or wait > self.max_throttle_wait:
                    error = cost_error_from(exc)
                    error.retry_after = wait
                    error.message = (f"{error.message} (throttled {throttled + 1} time(s); "
                                     f"Cost Management asks to wait {wait:g}s)")
                    raise error from exc
                self.sleep(wait)
                throttled += 1
            except AzureError as exc:
                raise cost_error_from(exc) from exc


class ThrottlingLeftToCaller(RetryPolicy):
    """azure-core's RetryPolicy, except that it never retries a 429: AzureCost does, with Cost
    Management's own retry-after headers and its own cap. Everything else is unchanged."""

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if response.http_response.status_code == 429:
            return False
        return bool(super().is_retry(settings, response))


def default_azure_cost(**kwargs: Any) -> AzureCost:
    """AzureCost with azure-identity's DefaultAzureCredential."""
    from azure.identity import DefaultAzureCredential

    return AzureCost(DefaultAzureCredential(), **kwargs)


# --- Request bodies -----------------------------------------------------------------------------

def query_definition(today: date, resource_groups: Sequence[str] = ()) -> QueryDefinition:
    """Daily actual cost of the month to `today`; with `resource_groups`, only theirs (a subscription
    scope filtered to an environment's groups, its AKS node resource group included)."""
    return QueryDefinition(
        type=QUERY_TYPE,
        timeframe="Custom",
        time_period=QueryTimePeriod(from_property=_start_of(month_start(today)), to=_end_of(today)),
        dataset=QueryDataset(
            granularity="Daily",
            aggregation={COST_ALIAS: QueryAggregation(name=COST_METRIC, function="Sum")},
            # The SDK's docstring says "up to 2 group by clauses" (4.x even enforced it client-side);
            # the service takes more, and 5.x sends what it is given.
            grouping=[
                QueryGrouping(type="Dimension", name="ServiceName"),
                QueryGrouping(type="Dimension", name="ResourceGroupName"),
                QueryGrouping(type="TagKey", name=AGENT_TAG),
            ],
            filter=QueryFilter(dimensions=QueryComparisonExpression(
                name="ResourceGroupName", operator="In", values_property=list(resource_groups))) if resource_groups else None,
        ),
    )


def forecast_definition(today: date, resource_groups: Sequence[str] = ()) -> ForecastDefinition:
    return ForecastDefinition(
        type=FORECAST_TYPE,
        timeframe="Custom",
        time_period=ForecastTimePeriod(from_property=_start_of(month_start(today)), to=_end_of(month_end(today))),
        dataset=ForecastDataset(
            granularity="Daily",
            aggregation={COST_ALIAS: ForecastAggregation(name=COST_METRIC, function="Sum")},
            filter=ForecastFilter(dimensions=ForecastComparisonExpression(
                name="ResourceGroupName", operator="In", values_property=list(resource_groups))) if resource_groups else None,
        ),
        include_actual_cost=True,
        include_fresh_partial_cost=False,
    )


# --- Reading answers ----------------------------------------------------------------------------

def cost_rows(columns: list[str], rows: list[list[Any]]) -> list[CostRow]:
    """Query rows as CostRows, each cell found by its column's name."""
    index = _ColumnIndex(columns)
    cost_at = index.require(_COST_COLUMNS, "cost")
    date_at = index.require(_DATE_COLUMNS, "date")
    service_at = index.find(("servicename",))
    group_at = index.find(("resourcegroupname", "resourcegroup"))
    currency_at = index.find(_CURRENCY_COLUMNS)
    tag_at = index.find((AGENT_TAG,))
    tag_key_at, tag_value_at = index.find(("tagkey",)), index.find(("tagvalue",))
    result: list[CostRow] = []
    for row in rows:
        agent = ""
        if tag_at is not None:
            agent = _text(row[tag_at])
        elif tag_key_at is not None and tag_value_at is not None and _text(row[tag_key_at]).lower() == AGENT_TAG:
            agent = _text(row[tag_value_at])
        result.append(CostRow(
            date=parse_usage_date(row[date_at]),
            service_name=_text(row[service_at]) if service_at is not None else "",
            resource_group=_text(row[group_at]) if group_at is not None else "",
            agent=agent,
            cost=parse_amount(row[cost_at]),
            currency=_text(row[currency_at]) if currency_at is not None else "",
        ))
    return result


def forecast_rows(columns: list[str], rows: list[list[Any]], *,
                  today: date) -> list[tuple[date, Decimal, str, bool]]:
    """(day, cost, currency, is_actual) of each forecast row. CostStatus says Actual or Forecast;
    without it, days up to today count as actual."""
    index = _ColumnIndex(columns)
    cost_at = index.require(_COST_COLUMNS, "cost")
    date_at = index.require(_DATE_COLUMNS, "date")
    status_at = index.find(("coststatus",))
    currency_at = index.find(_CURRENCY_COLUMNS)
    result: list[tuple[date, Decimal, str, bool]] = []
    for row in rows:
        day = parse_usage_date(row[date_at])
        if status_at is not None:
            is_actual = _text(row[status_at]).lower() == "actual"
        else:
            is_actual = day <= today
        result.append((day, parse_amount(row[cost_at]),
                       _text(row[currency_at]) if currency_at is not None else "", is_actual))
    return result


def parse_usage_date(value: Any) -> date:
    """20261128, "20261128", "2026-11-28" or "2026-11-28T00:00:00[Z]" as a date."""
    text = _text(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    try:
        if text.isdigit() and len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise CostError("UnexpectedResponse", f"Cost Management sent a date this cannot read: {value!r}") from exc


def parse_amount(value: Any) -> Decimal:
    """A cost cell as a Decimal, without float noise (0.1 stays 0.1)."""
    try:
        return Decimal(value) if isinstance(value, (int, str)) else Decimal(repr(float(value)))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise CostError("UnexpectedResponse", f"Cost Management sent a cost this cannot read: {value!r}") from exc


def throttle_wait(headers: Mapping[str, str], *, attempt: int = 0) -> float:
    """Seconds to wait after a 429: the largest of Cost Management's x-ms-ratelimit-...-retry-after
    headers, Retry-After (seconds or an HTTP date) and retry-after-ms; when there is none, a backoff
    of 5 s doubling with each attempt, up to a minute."""
    waits: list[float] = []
    for name, value in headers.items():
        lowered = name.lower()
        if _RATE_LIMIT_HEADER.match(lowered) or lowered == "retry-after":
            waits.extend(_seconds(value))
        elif lowered in ("retry-after-ms", "x-ms-retry-after-ms"):
            waits.extend(ms / 1000 for ms in _seconds(value))
    if waits:
        return max(waits)
    return float(min(60, 5 * 2 ** attempt))


def cost_error_from(exc: AzureError) -> CostError:
    """An azure-core error as a CostError with Azure's error code; 408, 429, 5xx and failures to reach
    Azure at all are transient; no credential at all is one sentence saying how to give one."""
    if is_missing_credential(exc):
        return CostError(code=ErrorCode.NO_CREDENTIAL, message=NO_CREDENTIAL_MESSAGE)
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code = (exc.error.code if exc.error is not None else None) or exc.reason or f"Http{status}"
        message = (exc.error.message if exc.error is not None else None) or exc.message or str(exc)
        transient = status in (408, 429) or status >= 500
        retry_after = None
        if transient and exc.response is not None:
            retry_after = throttle_wait(exc.response.headers) if _has_wait(exc.response.headers) else None
        return CostError(code=str(code), message=message, transient=transient, retry_after=retry_after)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return CostError(code="ServiceUnreachable", message=str(exc), transient=True)
    return CostError(code=type(exc).__name__, message=str(exc))


# --- Internals ----------------------------------------------------------------------------------

class _ColumnIndex:
    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.positions = {name.lower(): at for at, name in enumerate(columns)}

    def find(self, names: Iterable[str]) -> int | None:
        return next((self.positions[name] for name in names if name in self.positions), None)

    def require(self, names: Iterable[str], what: str) -> int:
        at = self.find(names)
        if at is None:
            raise CostError("UnexpectedResponse", f"Cost Management sent no {what} column: {self.columns}")
        return at


def _table(result: _Result) -> tuple[list[str], list[list[Any]]]:
    props = result.properties
    if props is None:
        return [], []
    return [column.name or "" for column in props.columns or ()], list(props.rows or ())


def _next_link(result: Any) -> str:
    props = getattr(result, "properties", None)
    return (getattr(props, "next_link", None) or "") if props is not None else ""


def _with_api_version(url: str, api_version: str) -> str:
    parts = urlsplit(url)
    if any(key.lower() == "api-version" for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"api-version": api_version})))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, clock.min, tzinfo=UTC)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, clock(23, 59, 59), tzinfo=UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _seconds(value: str) -> list[float]:
    try:
        return [max(0.0, float(value))]
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return []
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return [max(0.0, (when - datetime.now(UTC)).total_seconds())]


def _has_wait(headers: Mapping[str, str]) -> bool:
    return any(_RATE_LIMIT_HEADER.match(name.lower()) or name.lower() in ("retry-after", "retry-after-ms",
                                                                           "x-ms-retry-after-ms")
               for name in headers)
