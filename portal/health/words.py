"""The health board's times and uptime in words (issue #11), as Django's |timesince, |naturaltime and |floatformat:1
word them, without their lazy translated strings and Decimal arithmetic: the board calls them some hundred times a
page. The portal runs untranslated (USE_I18N = False), so the words are Django's English msgids; the algorithms are
Django's own (django.utils.timesince.timesince, humanize's NaturalTimeFormatter.string_for, floatformat's
ROUND_HALF_UP of the number's shortest repr). Anything else (a translated portal, a date without a time, a naive
time against an aware one, a number floatformat writes otherwise) is handed to Django's function itself.
tests/health/test_board_words.py holds them to Django's on many pinned values."""

import datetime
from html import escape

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import naturaltime as django_naturaltime
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import floatformat, timesince_filter

UTC = datetime.UTC
NBSP = "\xa0"
UNITS = ("year", "month", "week", "day", "hour", "minute")
CHUNKS = (60 * 60 * 24 * 7, 60 * 60 * 24, 60 * 60, 60)   # week, day, hour, minute
MONTHS_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
NO_TIME = f"0{NBSP}minutes"
ENGLISH = ("en", "en-us")   # the languages whose numbers are written with a decimal point


class _Portal:
    """What the settings say of the words, read once (settings are a lazy object: a lookup costs a call) and again
    when a test changes them: untranslated words (USE_I18N off), numbers with a decimal point."""

    untranslated: bool
    decimal_point: bool

    @classmethod
    def read(cls, **kwargs):
        cls.untranslated = not settings.USE_I18N
        cls.decimal_point = cls.untranslated and settings.LANGUAGE_CODE in ENGLISH


_Portal.read()


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting in ("USE_I18N", "LANGUAGE_CODE"):
        _Portal.read()


def _unit(value: int, name: str) -> str:
    """'%(num)d <unit>[s]' (ngettext's English plural: one is singular), its space made non-breaking as
    avoid_wrapping does."""
    return f"{value}{NBSP}{name}" if value == 1 else f"{value}{NBSP}{name}s"


def _between(d: datetime.datetime, now: datetime.datetime) -> str:
    """django.utils.timesince.timesince(d, now) once `now` is in d's time zone: at most two adjacent units."""
    delta = now - d
    if delta.days * 24 * 60 * 60 + delta.seconds <= 0:      # microseconds ignored; d in the future: no time
        return NO_TIME
    total_months = (now.year - d.year) * 12 + (now.month - d.month)
    if d.day > now.day or (d.day == now.day and d.time() > now.time()):
        total_months -= 1
    years, months = divmod(total_months, 12)
    if years or months:        # a pivot shifted from d by the years and months: the rest is counted from there
        pivot_year, pivot_month = d.year + years, d.month + months
        if pivot_month > 12:
            pivot_month -= 12
            pivot_year += 1
        pivot = datetime.datetime(pivot_year, pivot_month, min(MONTHS_DAYS[pivot_month - 1], d.day),
                                  d.hour, d.minute, d.second, tzinfo=d.tzinfo)
    else:
        pivot = d
    remaining = (now - pivot).total_seconds()
    partials = [years, months]
    for chunk in CHUNKS:
        count = int(remaining // chunk)
        partials.append(count)
        remaining -= chunk * count
    for i, value in enumerate(partials):
        if value:
            break
    else:
        return NO_TIME
    if i + 1 < len(partials) and partials[i + 1]:
        return f"{_unit(value, UNITS[i])}, {_unit(partials[i + 1], UNITS[i + 1])}"
    return _unit(value, UNITS[i])


def timesince(value, now: datetime.datetime | None = None) -> str:
    """{{ value|timesince }}: how long ago `value` was, e.g. '3 days, 4 hours' (non-breaking spaces). `now`: the
    clock read once for a page of times (aware; the clock is read here when it is None or `value` is naive)."""
    if not _Portal.untranslated or type(value) is not datetime.datetime:
        return timesince_filter(value)
    try:
        aware = value.utcoffset() is not None
        if now is None or not aware or now.tzinfo is None:
            now = datetime.datetime.now(value.tzinfo if aware else None)
        else:
            now = now.astimezone(value.tzinfo)      # as datetime.now(value.tzinfo) gives it
        return _between(value, now)
    except (ValueError, TypeError):
        return timesince_filter(value)


def naturaltime(value, now: datetime.datetime | None = None):
    """{{ value|naturaltime }}: 'now', 'a minute ago', '3 hours from now', '2 days, 1 hour ago'... A value that is
    not a date is returned as it is (None stays None). `now` as for timesince."""
    if not _Portal.untranslated or type(value) is not datetime.datetime:
        return django_naturaltime(value)
    aware = value.utcoffset() is not None
    if now is None or not aware or now.tzinfo is None:
        now = datetime.datetime.now(UTC if aware else None)
    elif now.tzinfo is not UTC:
        now = now.astimezone(UTC)   # as Django reads it: two times in one zone subtract as wall clocks (DST)
    if value < now:
        delta, when = now - value, "ago"
    else:
        delta, when = value - now, "from now"
    if delta.days != 0:
        now = now.astimezone(value.tzinfo) if aware else now
        return f"{_between(value, now) if when == 'ago' else _between(now, value)} {when}"
    seconds = delta.seconds
    if seconds == 0:
        return "now"
    if seconds < 60:
        return f"a second {when}" if seconds == 1 else f"{seconds}{NBSP}seconds {when}"
    if seconds // 60 < 60:
        count = seconds // 60
        return f"a minute {when}" if count == 1 else f"{count}{NBSP}minutes {when}"
    count = seconds // 60 // 60
    return f"an hour {when}" if count == 1 else f"{count}{NBSP}hours {when}"


def timesince_html(value, now: datetime.datetime | None = None) -> str:
    """timesince(value, now) escaped for HTML. Words written here (digits, letters, spaces, commas) have nothing to
    escape; Django's own (translated) words are escaped."""
    words = timesince(value, now)
    return words if _Portal.untranslated and type(value) is datetime.datetime else escape(str(words))


def naturaltime_html(value, now: datetime.datetime | None = None) -> str:
    """naturaltime(value, now) escaped for HTML, as timesince_html (a value that is no date-time is written as
    str())."""
    words = naturaltime(value, now)
    return words if _Portal.untranslated and type(value) is datetime.datetime else escape(str(words))


def one_decimal(number: float) -> str:
    """{{ number|floatformat:1 }} of a float from 0 up: its shortest repr rounded half up to one decimal, as
    floatformat rounds the Decimal of that repr (12.25 -> '12.3', 99.95 -> '100.0')."""
    whole, dot, fraction = repr(number).partition(".")
    if (not _Portal.decimal_point or type(number) is not float or not dot or not whole.isdigit()
            or not fraction.isdigit() or number >= 999):
        return str(floatformat(number, 1))   # a decimal comma, negative, an exponent, inf, nan, thousands to group
    if len(fraction) < 2 or fraction[1] < "5":
        return f"{whole}.{fraction[0]}"
    tenths = int(whole) * 10 + int(fraction[0]) + 1
    return f"{tenths // 10}.{tenths % 10}"
