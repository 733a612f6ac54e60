"""The data the charts are drawn from (embedded in the page with json_script, drawn by static/js/costs.js).
The tables beside them show the same numbers and are the truth: a chart only says it faster."""

from decimal import Decimal

from portal.costs.selectors import MONTH_ABBR, Day, Row


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 2))


def bars(rows: list[Row], columns: list[str], *, title: str, currency: str = "USD", limit: int = 12) -> dict:
    """A bar per row (stacked by column when there are several), the largest `limit` rows."""
    shown = rows[:limit]
    return {
        "type": "bar", "title": title, "currency": currency, "stacked": len(columns) > 1,
        "labels": [row.key for row in shown],
        "datasets": [{"label": column, "data": [_number(row.amounts[i]) for row in shown]}
                     for i, column in enumerate(columns)],
    }


def month_line(days: list[Day], budget: Decimal | None, *, title: str, currency: str = "USD") -> dict:
    """The month day by day: cost so far, where the forecast takes it, and the budget."""
    datasets = [{"label": "Actual, month to date", "kind": "actual", "data": [_number(d.cumulative) for d in days]}]
    if any(d.forecast_cumulative is not None for d in days):
        datasets.append({"label": "Forecast", "kind": "forecast",
                         "data": [_number(d.forecast_cumulative) for d in days]})
    if budget:
        datasets.append({"label": "Budget", "kind": "budget", "data": [_number(budget)] * len(days)})
    return {"type": "line", "title": title, "currency": currency,
            "labels": [f"{MONTH_ABBR[d.date.month]} {d.date.day}" for d in days], "datasets": datasets}


def trend(rows: list[Row], columns: list[str], budget: Decimal | None, *, title: str, currency: str = "USD") -> dict:
    """The last months, a bar each (stacked by environment), with the monthly budget as a line."""
    datasets: list[dict] = [{"label": column, "data": [_number(row.amounts[i]) for row in rows]}
                            for i, column in enumerate(columns)]
    if budget:
        datasets.append({"label": "Budget", "kind": "budget", "type": "line",
                         "data": [_number(budget)] * len(rows)})
    return {"type": "bar", "title": title, "currency": currency, "stacked": len(columns) > 1,
            "labels": [row.key for row in rows], "datasets": datasets}


def team_bars(teams, columns: list[str], *, title: str, currency: str = "USD") -> dict:
    """A bar per team (its agents' direct and shared cost), stacked by environment."""
    return {
        "type": "bar", "title": title, "currency": currency, "stacked": len(columns) > 1,
        "labels": [team.team for team in teams],
        "datasets": [{"label": column, "data": [_number(team.amounts[i]) for team in teams]}
                     for i, column in enumerate(columns)],
    }
