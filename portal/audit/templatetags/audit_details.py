"""Audit details as people read them: one "key: value" per entry, nested values as JSON (not Python reprs)."""

import json

from django import template

register = template.Library()


@register.filter
def detail_items(details) -> list[tuple[str, str]]:
    if not isinstance(details, dict):
        return [("", json.dumps(details, ensure_ascii=False, default=str))]
    return [(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                   default=str))
            for key, value in details.items()]
