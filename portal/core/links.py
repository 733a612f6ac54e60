"""Links in long lists (issue #11): reverse() once for a whole table, not once a row (a reverse() was most of what
a row of a 50-row table cost). Each link is what reverse() gives for it."""

import re
from collections.abc import Callable
from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

SAFE = RFC3986_SUBDELIMS + "/~:@"       # what reverse() leaves unquoted
MARKERS = {"int": "987654321", "slug": "0portal-link0", "str": "0portal-link0"}  # each fits its converter
CONVERTERS = {"int": re.compile(r"[0-9]+"), "slug": re.compile(r"[-a-zA-Z0-9_]+"), "str": re.compile(r"[^/]+")}


def url_maker(name: str, *args, converter: str = "str") -> Callable[[str], str]:
    """A function of the URL's last argument (matched by `converter`, the path converter it has) giving
    reverse(name, args=[*args, value]). A value the converter does not match goes through reverse() itself,
    which raises NoReverseMatch as before."""
    marker = MARKERS[converter]
    head, tail = reverse(name, args=[*args, marker]).rsplit(marker, 1)
    fits = CONVERTERS[converter].fullmatch

    def url(value) -> str:
        text = str(value)
        if fits(text):
            return f"{head}{quote(text, safe=SAFE)}{tail}"
        return reverse(name, args=[*args, value])

    return url


def url_of_pk(viewname: str) -> Callable[[int], str]:
    """pk -> reverse(viewname, args=[pk]), for a view whose URL takes one integer."""
    return url_maker(viewname, converter="int")
