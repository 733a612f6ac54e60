"""No 5xx under bad input, the longest sweep of tests/core/test_fuzz.py in a file of its own, so that pytest-xdist
(--dist loadfile) runs it beside the rest of the fuzzing instead of after it (three of the suite's slowest minutes on
one worker)."""

import itertools

from tests.core.test_fuzz import ROUTES, SHORT_HOSTILE, build_path, path_values, world  # noqa: F401 (a fixture)


def test_every_hostile_value_in_every_query_of_every_route(world):
    """As a Platform admin (who reaches every page): each hostile value in every query parameter at once, and in each
    path parameter its converter lets through."""
    failures = []
    client = world["clients"]["admin"]
    for (pattern, name, converters), hostile in itertools.product(ROUTES, SHORT_HOSTILE):
        path = build_path(pattern, path_values(converters, world["valid"], hostile))
        response = client.get(path, {field: hostile for field in world["fields"]})
        if response.status_code >= 500:
            failures.append(f"GET {name} {path[:80]!r} -> {response.status_code} (hostile {hostile[:40]!r})")
    assert failures == []
