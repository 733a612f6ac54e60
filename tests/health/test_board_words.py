"""Issue #11: the board words its times and uptime itself (portal.health.words) instead of calling Django's |timesince,
|naturaltime and |floatformat:1 some hundred times a page. Held here to Django's own functions, word for word, on many
pinned values: every span around the units' edges, months of every length, both directions, several time zones."""

import random
from html import escape
from datetime import UTC, datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.humanize.templatetags.humanize import naturaltime as django_naturaltime
from django.template.defaultfilters import floatformat, timesince_filter

from portal.health.words import naturaltime, naturaltime_html, one_decimal, timesince, timesince_html

ZONES = [UTC, dt_timezone.utc, ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
# Seconds around the edges of a minute, an hour, a day, a week, a month and a year.
EDGES = [0, 1, 59, 60, 61, 119, 120, 3599, 3600, 3601, 7199, 7200, 86399, 86400, 86401, 6 * 86400 + 86399,
         7 * 86400, 13 * 86400, 14 * 86400, 27 * 86400, 28 * 86400, 29 * 86400, 30 * 86400, 31 * 86400,
         59 * 86400, 364 * 86400, 365 * 86400, 366 * 86400, 400 * 86400, 3 * 365 * 86400 + 5]
# Month ends, a leap day, daylight saving changes and a year's turn.
NOWS = [datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2028, 2, 29, 0, 0, tzinfo=UTC), datetime(2027, 3, 1, 0, 5, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
        datetime(2026, 1, 31, 22, 30, tzinfo=UTC), datetime(2026, 5, 31, 12, 0, tzinfo=UTC)]


def moments():
    """(now, a time to word): the edges before and after each pinned now, in each zone, give or take a few seconds
    and microseconds, and a few thousand spans drawn at random (seeded: the same every run)."""
    draw = random.Random(11)
    for now in NOWS:
        for span in EDGES:
            for nudge in (timedelta(0), timedelta(seconds=-1), timedelta(microseconds=1), timedelta(microseconds=-1)):
                for sign in (1, -1):
                    yield now, (now + sign * (timedelta(seconds=span) + nudge)).astimezone(draw.choice(ZONES))
    for _ in range(3000):
        now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=draw.randint(0, 6 * 365 * 86400),
                                                            microseconds=draw.randint(0, 999999))
        span = timedelta(seconds=draw.choice([draw.randint(0, 3 * 86400), draw.randint(0, 800 * 86400)]),
                         microseconds=draw.choice([0, draw.randint(0, 999999)]))
        yield now, (now + draw.choice([1, -1]) * span).astimezone(draw.choice(ZONES))


def test_times_are_worded_as_djangos_timesince_and_naturaltime_word_them():
    checked = 0
    for now, moment in moments():
        with time_machine.travel(now, tick=False):
            assert (timesince(moment), naturaltime(moment)) == (
                timesince_filter(moment), django_naturaltime(moment)), (now, moment)
            assert (timesince_html(moment), naturaltime_html(moment)) == (
                escape(timesince_filter(moment)), escape(django_naturaltime(moment))), (now, moment)
        checked += 1
    assert checked > 4000



def test_a_clock_read_once_for_the_page_words_times_as_the_clock_read_for_each():
    """The board reads the clock once a page and hands it to every cell: the words are those of reading it there,
    whatever zone the given clock and the time are in."""
    draw = random.Random(7)
    checked = 0
    for now, moment in moments():
        with time_machine.travel(now, tick=False):
            expected = (timesince(moment), naturaltime(moment))
        given = now.astimezone(draw.choice(ZONES))
        assert (timesince(moment, given), naturaltime(moment, given)) == expected, (now, moment)
        assert (timesince_html(moment, given), naturaltime_html(moment, given)) == tuple(map(escape, expected))
        checked += 1
    assert checked > 4000

def test_times_without_a_zone_or_a_time_and_none_are_left_to_django():
    now = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        naive = datetime.now() - timedelta(days=2, hours=3)
        for value in (naive, None, ""):
            assert (timesince(value), naturaltime(value)) == (timesince_filter(value), django_naturaltime(value))
        assert timesince(naive.date()) == timesince_filter(naive.date())
    assert naturaltime(None) is None      # {{ None|naturaltime }} writes "None": the cell keeps doing so
    assert (naturaltime_html(None), timesince_html(None)) == ("None", "")


def test_translated_words_are_djangos_and_escaped(settings):
    settings.USE_I18N, settings.LANGUAGE_CODE = True, "fr"
    now = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        for moment in (now - timedelta(days=2, hours=1), now + timedelta(minutes=3), now - timedelta(seconds=1)):
            assert (timesince(moment), naturaltime(moment)) == (timesince_filter(moment), django_naturaltime(moment))
            assert naturaltime_html(moment) == escape(django_naturaltime(moment))


def test_some_words_in_full():
    now = datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        assert timesince(now - timedelta(days=3, hours=4, minutes=5)) == "3\xa0days, 4\xa0hours"
        assert timesince(now + timedelta(hours=1)) == "0\xa0minutes"
        assert naturaltime(now - timedelta(minutes=1)) == "a minute ago"
        assert naturaltime(now + timedelta(hours=11, minutes=3)) == "11\xa0hours from now"
        assert naturaltime(now - timedelta(days=40)) == "1\xa0month, 1\xa0week ago"
        assert naturaltime(now) == "now"


def uptimes():
    """Shares green of every count of results up to 400, spans of larger counts, and floats drawn at random."""
    for total in range(1, 401):
        for green in range(total + 1):
            yield 100.0 * green / total
    draw = random.Random(11)
    for _ in range(20000):
        total = draw.randint(1, 10**7)
        yield 100.0 * draw.randint(0, total) / total
        yield round(draw.uniform(0, 100), draw.randint(0, 3))
    yield from (0.0, 100.0, 0.05, 0.04999, 0.15, 12.25, 99.95, 99.94999, 1e-05, 2.5e-07, -0.0, -1.25, 999.95, 1234.5,
                float("inf"), float("nan"))


def test_the_uptime_is_rounded_as_floatformat_rounds_it():
    for uptime in uptimes():
        assert one_decimal(uptime) == floatformat(uptime, 1), uptime
    assert (one_decimal(12.25), one_decimal(99.95), one_decimal(0.0)) == ("12.3", "100.0", "0.0")


@pytest.mark.parametrize("language", ["de", "fr"])
def test_a_decimal_comma_is_left_to_floatformat(settings, language):
    settings.LANGUAGE_CODE = language
    assert one_decimal(12.25) == floatformat(12.25, 1) == "12,3"
