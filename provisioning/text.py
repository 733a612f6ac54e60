"""Text the portal itself shortens (log lines, errors, summaries) says so: never cut silently (issue #9).

Text a person typed is never shortened: it is refused with a field error naming the limit."""


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and "… (N characters more)", within `limit`."""
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    # The suffix names how many characters were left out; its own length depends on that number.
    keep = limit
    for _ in range(3):
        suffix = f"… ({len(text) - keep:,} characters more)"
        keep = max(0, limit - len(suffix))
    suffix = f"… ({len(text) - keep:,} characters more)"
    if len(suffix) > limit:  # a limit too small for any note: the ellipsis alone still says it was cut
        return text[:max(0, limit - 1)] + "…"
    return text[:keep] + suffix


def too_long(text: str, limit: int, *, what: str) -> str:
    """The message refusing typed text over its limit, or "" when it fits."""
    length = len(text or "")
    if length <= limit:
        return ""
    return f"{what} is {length:,} characters; keep it to {limit:,}."
