"""`{{ text|shortened:200 }}`: text the portal shortens for display says so, "… (N characters more)",
with the whole text a hover away (issue #9). Never for what someone typed: that is refused, not cut."""

from django import template
from django.utils.html import format_html

from provisioning.text import shorten

register = template.Library()


@register.filter
def shortened(text, limit):
    text = "" if text is None else str(text)
    short = shorten(text, int(limit))
    if short == text:
        return text
    return format_html('<span title="{}">{}</span>', text, short)
