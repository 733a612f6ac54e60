"""Markup written by the row filters of long tables (issue #11)."""

from html import escape


def text(value) -> str:
    """`value` as text escaped for HTML, as Django's escape does (html.escape), without its lazy-string wrapper:
    the row filters call it some thousand times a page."""
    return escape(str(value))
