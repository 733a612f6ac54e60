"""Links from many rows of a page to one view, at the cost of one reverse() (issue #11: a reverse() per row
was a good part of a cost page's time). Each link is what reverse() gives for it."""

import re
from collections.abc import Callable
from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

SAFE = RFC3986_SUBDELIMS + "/~:@"       # what reverse() leaves unquoted
MARKER = "0costs-link0"
CONVERTERS = {"slug": re.compile(r"[-a-zA-Z0-9_]+"), "str": re.compile(r"[^/]+")}


def url_maker(name: str, *args, converter: str = "str") -> Callable[[str], str]:
    """A function of the URL's last argument (matched by `converter`, the path converter it has) giving
    reverse(name, args=[*args, value]). A value the converter does not match goes through reverse() itself,
    which raises NoReverseMatch as before."""
    head, tail = reverse(name, args=[*args, MARKER]).split(MARKER)
    fits = CONVERTERS[converter].fullmatch

    def url(value) -> str:
        text = str(value)
        if fits(text):
            return f"{head}{quote(text, safe=SAFE)}{tail}"
        return reverse(name, args=[*args, value])

    return url
