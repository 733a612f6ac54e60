"""The cost pages on the last day of a month, late in the evening, and on the first day of the next one (clock
pinned with time-machine): the forecast to month end is drawn, and on the last day it is the actual."""

import json
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from portal.costs import services
from portal.costs.models import CostForecast

LAST_DAY_EVENING = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
FIRST_DAY = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)


def month_chart(html: str) -> dict:
    found = re.search(r'<script id="chart-month" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def series(chart: dict, label: str) -> list:
    return next(d["data"] for d in chart["datasets"] if d["label"] == label)


@pytest.mark.parametrize("page", ["dashboard", "environment"])
def test_on_the_last_day_of_the_month_the_forecast_is_the_actual(envs, client_for, viewer, page):
    with time_machine.travel(LAST_DAY_EVENING, tick=False):
        services.cost_ingest_run(environment_id=envs["dev"].pk, backfill=0)
        url = reverse("costs:dashboard") if page == "dashboard" else reverse("costs:environment", args=["dev"])
        html = client_for(viewer).get(url).content.decode()

    forecast = CostForecast.objects.get(environment=envs["dev"])
    assert forecast.as_of == date(2026, 11, 30) and forecast.forecast == forecast.actual
    chart = month_chart(html)
    assert [d["label"] for d in chart["datasets"]] == ["Actual, month to date", "Forecast", "Budget"]
    actual, projected = series(chart, "Actual, month to date"), series(chart, "Forecast")
    assert len(actual) == 30 and None not in actual
    assert projected[:29] == [None] * 29
    assert projected[29] == actual[29] == pytest.approx(float(forecast.actual), abs=0.01)


def test_on_the_first_day_of_the_month_the_forecast_runs_to_its_end(envs, client_for, viewer):
    with time_machine.travel(FIRST_DAY, tick=False):
        services.cost_ingest_run(environment_id=envs["dev"].pk, backfill=1)
        html = client_for(viewer).get(reverse("costs:dashboard")).content.decode()
        previous = client_for(viewer).get(reverse("costs:dashboard") + "?month=2026-11")

    chart = month_chart(html)
    actual, projected = series(chart, "Actual, month to date"), series(chart, "Forecast")
    assert len(actual) == 31 and actual[0] is not None and actual[1:] == [None] * 30
    assert projected[0] == actual[0] and projected[30] > projected[1] > projected[0]
    assert previous.status_code == 200 and "November 2026" in previous.content.decode()
