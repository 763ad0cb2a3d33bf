"""EventBridge schedule expressions: reading, errors that name the field, and fire times.

The fire times are checked against an independent oracle that walks every minute in UTC and
asks, of the wall-clock time in the schedule's zone, the questions EventBridge's documentation
asks (is it the last day, the nearest weekday, the third Friday...; does this wall-clock time
happen for the first time), so a bug in the day arithmetic or the DST rule cannot hide.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeglot.errors import InputError
from pipeglot.ir import eventbridge
from pipeglot.ir.eventbridge import Cron, Rate, fire_times, parse

UTC = dt.UTC


def _times(expression: str, after: str, count: int, timezone: str = "UTC") -> list[str]:
    start = dt.datetime.fromisoformat(after).replace(tzinfo=UTC)
    found = fire_times(parse(expression), after=start, count=count, timezone=timezone)
    return [moment.strftime("%Y-%m-%d %H:%M") for moment in found]


# --- Reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cron(0 6 * * ?)", "has 5 fields; EventBridge cron has six"),
        ("cron(0 6 * * * *)", "exactly one of Day-of-month (*) and Day-of-week (*) must be '?'"),
        ("cron(0 6 ? * ? *)", "exactly one of Day-of-month"),
        ("cron(60 6 * * ? *)", "the Minutes field '60' is out of range (it takes 0-59)"),
        ("cron(0 24 * * ? *)", "the Hours field '24' is out of range (it takes 0-23)"),
        ("cron(0 6 0 * ? *)", "the Day-of-month field '0' is out of range (it takes 1-31)"),
        ("cron(0 6 * 13 ? *)", "the Month field '13' is out of range (it takes 1-12 or JAN-DEC)"),
        ("cron(0 6 * FOO ? *)", "the Month field 'FOO' is not a number or a name"),
        (
            "cron(0 6 ? * 8 *)",
            "the Day-of-week field '8' is out of range (it takes 1-7 or SUN-SAT)",
        ),
        ("cron(0 6 ? * 0 *)", "the Day-of-week field '0' is out of range"),
        ("cron(0 6 ? * MON/2 *)", "the Day-of-week field 'MON/2' uses '/'"),
        ("cron(0 6 ? * 6#6 *)", "has an occurrence after # that is not 1-5"),
        ("cron(0 6 ? * 6L,2 *)", "combines L with other values"),
        ("cron(0 6 L,3 * ? *)", "combines L or W with other values"),
        ("cron(0 6 32W * ? *)", "the Day-of-month field '32W' is out of range"),
        ("cron(0 6 * * ? 1969)", "the Year field '1969' is out of range (it takes 1970-2199)"),
        ("cron(0 L * * ? *)", "the Hours field 'L' uses 'L', which this field does not allow"),
        ("cron(0/0 6 * * ? *)", "has a step that is not a positive integer"),
        ("rate(1 days)", "wants the unit 'day' with the value 1"),
        ("rate(5 minute)", "wants the unit 'minutes' with the value 5"),
        ("rate(0 hours)", "the value must be a positive integer"),
        ("rate(2 weeks)", "the unit 'weeks' is not minute(s), hour(s) or day(s)"),
        ("rate(an hour)", "is not a rate"),
        ("at(2026-13-01T00:00:00)", "is not a one-time schedule: write at(yyyy-mm-ddThh:mm:ss)"),
        ("at(tomorrow)", "is not a one-time schedule"),
        ("0 6 * * ? *", "is not an EventBridge schedule expression"),
    ],
)
def test_a_bad_expression_is_one_error_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(text, where="/Triggers/0/ScheduleExpression")
    assert message in str(caught.value)
    assert str(caught.value).startswith("/Triggers/0/ScheduleExpression: ")


def test_reading_keeps_the_expression_and_its_meaning() -> None:
    cron = parse("cron(0/15 8-17 ? * MON-FRI *)")
    assert isinstance(cron, Cron)
    assert cron.expression == "cron(0/15 8-17 ? * MON-FRI *)"
    assert sorted(cron.minutes) == [0, 15, 30, 45]
    assert sorted(cron.day_of_week.values) == [2, 3, 4, 5, 6]  # EventBridge: SUN is 1
    assert cron.years is None
    rate = parse("rate(1 day)")
    assert isinstance(rate, Rate) and rate.seconds == 86400 and rate.expression == "rate(1 day)"
    assert parse(" cron(0 6 * * ? *) ") == parse("cron(0 6 * * ? *)")


def test_an_unknown_time_zone_is_an_error() -> None:
    with pytest.raises(InputError, match="'Mars/Olympus' is not an IANA time zone"):
        eventbridge.zone("Mars/Olympus")


# --- Fire times on known dates -------------------------------------------------------------


def test_day_of_month_wildcards() -> None:
    # 2026-02-28 is a Saturday, 2026-05-31 a Sunday, 2026-08-01 a Saturday.
    assert _times("cron(0 12 L * ? *)", "2026-01-31 13:00", 3) == [
        "2026-02-28 12:00",
        "2026-03-31 12:00",
        "2026-04-30 12:00",
    ]
    assert _times("cron(0 12 LW * ? *)", "2026-02-01 00:00", 4) == [
        "2026-02-27 12:00",  # Friday before the Saturday 28th
        "2026-03-31 12:00",
        "2026-04-30 12:00",
        "2026-05-29 12:00",  # Friday before the Sunday 31st
    ]
    # 1W on a Saturday is Monday the 3rd (it never leaves the month).
    assert _times("cron(0 9 1W AUG ? *)", "2026-07-01 00:00", 1) == ["2026-08-03 09:00"]
    # 15W: 2026-02-15 is a Sunday -> Monday 16th; 2026-08-15 a Saturday -> Friday 14th.
    assert _times("cron(0 9 15W FEB,AUG ? *)", "2026-01-01 00:00", 2) == [
        "2026-02-16 09:00",
        "2026-08-14 09:00",
    ]
    # 31W: in months without a 31st there is no run.
    assert _times("cron(0 9 31W * ? *)", "2026-04-01 00:00", 2) == [
        "2026-05-29 09:00",  # the 31st is a Sunday, the 30th a Saturday
        "2026-07-31 09:00",
    ]


def test_day_of_week_wildcards() -> None:
    assert _times("cron(0 18 ? * 6L *)", "2026-01-01 00:00", 3) == [
        "2026-01-30 18:00",
        "2026-02-27 18:00",
        "2026-03-27 18:00",
    ]
    assert _times("cron(0 18 ? * 6#3 *)", "2026-01-01 00:00", 2) == [
        "2026-01-16 18:00",
        "2026-02-20 18:00",
    ]
    assert _times("cron(0 18 ? * 2#5 *)", "2026-01-01 00:00", 2) == [
        "2026-03-30 18:00",  # months with a fifth Monday only
        "2026-06-29 18:00",
    ]
    assert _times("cron(0 6 ? * L *)", "2026-03-01 00:00", 1) == ["2026-03-07 06:00"]  # SAT
    assert _times("cron(0 6 ? * FRI-MON *)", "2026-03-01 00:00", 4) == [
        "2026-03-01 06:00",  # Sunday
        "2026-03-02 06:00",  # Monday
        "2026-03-06 06:00",  # Friday
        "2026-03-07 06:00",
    ]


def test_steps_years_and_ends() -> None:
    assert _times("cron(1/20 0 * * ? *)", "2026-03-01 00:00", 3) == [
        "2026-03-01 00:01",
        "2026-03-01 00:21",
        "2026-03-01 00:41",
    ]
    assert _times("cron(0 0 29 FEB ? *)", "2026-01-01 00:00", 2) == [
        "2028-02-29 00:00",
        "2032-02-29 00:00",
    ]
    assert _times("cron(0 0 1 1 ? 2027,2030)", "2026-01-01 00:00", 5) == [
        "2027-01-01 00:00",
        "2030-01-01 00:00",
    ]
    cron = parse("cron(0 6 * * ? *)")
    start = dt.datetime(2026, 3, 1, tzinfo=UTC)
    end = dt.datetime(2026, 3, 3, 6, tzinfo=UTC)
    assert len(fire_times(cron, after=start, count=10, end=end)) == 3  # the end is inclusive


def test_daylight_saving_in_time_zones() -> None:
    # New York springs forward on 2026-03-08 (02:00 -> 03:00) and falls back on 2026-11-01.
    assert _times("cron(30 2 * * ? *)", "2026-03-07 00:00", 3, "America/New_York") == [
        "2026-03-07 07:30",
        "2026-03-09 06:30",  # 02:30 did not exist on the 8th: skipped
        "2026-03-10 06:30",
    ]
    assert _times("cron(30 1 * * ? *)", "2026-10-31 00:00", 3, "America/New_York") == [
        "2026-10-31 05:30",
        "2026-11-01 05:30",  # 01:30 happened twice: once, the first time (EDT)
        "2026-11-02 06:30",
    ]


def test_rates_count_fixed_durations_from_the_start() -> None:
    rate = parse("rate(1 day)")
    start = dt.datetime(2026, 3, 28, 5, tzinfo=UTC)
    before = start - dt.timedelta(microseconds=1)
    found = fire_times(rate, after=before, count=3, timezone="Europe/Berlin", start=start)
    assert [moment.hour for moment in found] == [5, 5, 5]  # 24 hours, whatever the clocks say
    assert found[0] == start
    later = fire_times(parse("rate(15 minutes)"), after=start + dt.timedelta(minutes=20), count=1)
    assert later == [start + dt.timedelta(minutes=35)]  # no start: counted from "after"


# --- The oracle ------------------------------------------------------------------------------


def _oracle(cron_text: str, timezone: str, start: dt.datetime, days: int) -> list[dt.datetime]:
    """Every UTC minute in ``days`` days after ``start`` whose wall-clock time matches."""
    tz = ZoneInfo(timezone)
    fields = cron_text[5:-1].split()
    found = []
    moment = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    end = start + dt.timedelta(days=days)
    while moment <= end:
        local = moment.astimezone(tz).replace(tzinfo=None)
        if _matches(fields, local) and not _repeated(moment, tz, local):
            found.append(moment)
        moment += dt.timedelta(minutes=1)
    return found


def _repeated(moment: dt.datetime, tz: ZoneInfo, local: dt.datetime) -> bool:
    """This wall-clock time already happened earlier (clocks went back)."""
    for back in (30, 60, 120):
        earlier = moment - dt.timedelta(minutes=back)
        if earlier.astimezone(tz).replace(tzinfo=None) == local:
            return True
    return False


_MONTHS = {name: number for number, name in enumerate(eventbridge.MONTH_NAMES, 1)}
_DAYS = {name: number for number, name in enumerate(eventbridge.DAY_NAMES, 1)}


def _in(field: str, value: int, low: int, high: int, names: dict[str, int]) -> bool:
    if field in ("*", "?"):
        return True
    for item in field.split(","):
        body, _, step = item.partition("/")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            first, last = (names.get(part) or int(part) for part in body.split("-"))
        else:
            first = names.get(body) or int(body)
            last = high if step else first
        values = (
            range(first, last + 1)
            if first <= last
            else [*range(first, high + 1), *range(low, last + 1)]
        )
        if value in list(values)[:: int(step or 1)]:
            return True
    return False


def _nearest_weekday(day: dt.date, target: int) -> bool:
    """The Monday-Friday day of the month closest to ``target`` (never leaving the month)."""
    last = calendar.monthrange(day.year, day.month)[1]
    if target > last:
        return False
    weekdays = [d for d in range(1, last + 1) if dt.date(day.year, day.month, d).weekday() < 5]
    return day.day == min(weekdays, key=lambda d: (abs(d - target), d))


def _matches(fields: list[str], local: dt.datetime) -> bool:
    minute, hour, dom, month, dow, year = fields
    day = local.date()
    last = calendar.monthrange(day.year, day.month)[1]
    weekday = day.isoweekday() % 7 + 1  # SUN 1 ... SAT 7
    if not (
        _in(minute, local.minute, 0, 59, {})
        and _in(hour, local.hour, 0, 23, {})
        and _in(month, day.month, 1, 12, _MONTHS)
        and _in(year, day.year, 1970, 2199, {})
    ):
        return False
    if dom == "L":
        day_ok = day.day == last
    elif dom == "LW":
        day_ok = _nearest_weekday(day, last)
    elif dom.endswith("W"):
        day_ok = _nearest_weekday(day, int(dom[:-1]))
    else:
        day_ok = _in(dom, day.day, 1, 31, {})
    if dow == "L":
        week_ok = weekday == 7
    elif dow.endswith("L"):
        week_ok = weekday == (_DAYS.get(dow[:-1]) or int(dow[:-1])) and day.day > last - 7
    elif "#" in dow:
        name, occurrence = dow.split("#")
        wanted = _DAYS.get(name) or int(name)
        week_ok = weekday == wanted and (day.day + 6) // 7 == int(occurrence)
    else:
        week_ok = _in(dow, weekday, 1, 7, _DAYS)
    return day_ok and week_ok


_NEAR_CHANGES = [
    dt.datetime(2026, 3, 5, 7, 13),  # New York springs forward on the 8th
    dt.datetime(2026, 3, 26, 0, 0),  # Berlin on the 29th
    dt.datetime(2026, 4, 2, 12, 0),  # Lord Howe falls back half an hour on the 5th
    dt.datetime(2026, 10, 1, 0, 0),  # Lord Howe springs forward on the 4th
    dt.datetime(2026, 10, 22, 3, 30),  # Berlin falls back on the 25th
    dt.datetime(2026, 10, 29, 0, 0),  # New York on November 1st
]
_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
_DOM = st.sampled_from(["*", "L", "LW", "15W", "1W", "31W", "1-10", "5,20", "1/7", "28-3"])
_DOW = st.sampled_from(["*", "MON-FRI", "6L", "2#1", "7#5", "L", "SAT,SUN", "FRI-MON", "1"])


@st.composite
def _crons(draw: st.DrawFn) -> str:
    minute = draw(st.sampled_from(["0", "30", "0/30", "15,45", "1/20", "*/10"]))
    hour = draw(st.sampled_from(["*", "1-3", "2", "0/6", "22-2", "9"]))
    month = draw(st.sampled_from(["*", "MAR,OCT,NOV", "3-4", "JAN"]))
    year = draw(st.sampled_from(["*", "*", "2026-2027"]))
    if draw(st.booleans()):
        return f"cron({minute} {hour} {draw(_DOM)} {month} ? {year})"
    return f"cron({minute} {hour} ? {month} {draw(_DOW)} {year})"


@settings(max_examples=20, deadline=None)
@given(
    cron=_crons(),
    timezone=st.sampled_from(_ZONES),
    start=st.one_of(
        # a few days before a clock change of one of the zones, or any time
        st.sampled_from(_NEAR_CHANGES),
        st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 1)),
    ).map(lambda moment: moment.replace(tzinfo=UTC)),
)
def test_fire_times_equal_the_minute_by_minute_oracle(
    cron: str, timezone: str, start: dt.datetime
) -> None:
    days = 10
    expected = _oracle(cron, timezone, start, days)
    found = fire_times(parse(cron), after=start, count=len(expected) + 1, timezone=timezone)
    end = start + dt.timedelta(days=days)
    assert [moment for moment in found if moment <= end] == expected


@settings(max_examples=60, deadline=None)
@given(
    cron=_crons(),
    start=st.datetimes(min_value=dt.datetime(2025, 6, 1), max_value=dt.datetime(2027, 6, 1)).map(
        lambda moment: moment.replace(tzinfo=UTC)
    ),
)
def test_the_standard_cron_croniter_reads_fires_at_the_same_times(
    cron: str, start: dt.datetime
) -> None:
    """What Airflow (croniter, with L and #) and KFP (six fields, none of them) are given."""
    croniter = require_module("croniter").croniter  # type: ignore[attr-defined]
    parsed = parse(cron)
    assert isinstance(parsed, Cron)
    expected = fire_times(parsed, after=start, count=25)
    for last_and_nth, seconds in ((True, False), (False, True)):
        standard = eventbridge.to_standard_cron(parsed, last_and_nth=last_and_nth)
        if standard.fields is None:
            assert any(mark in cron for mark in ("W", "L", "#")), cron
            continue
        text = ("0 " if seconds else "") + standard.text
        walker = croniter(text, start.replace(tzinfo=None), second_at_beginning=seconds)
        found = []
        while len(found) < len(expected):
            moment = walker.get_next(dt.datetime).replace(tzinfo=UTC)
            if parsed.years is None or moment.year in parsed.years:  # years: the start/end dates
                found.append(moment)
            if moment > expected[-1]:
                break
        assert found == expected, (cron, text)


@settings(max_examples=40, deadline=None)
@given(cron=_crons(), timezone=st.sampled_from(["Asia/Tokyo", "Etc/GMT+5", "Asia/Kolkata"]))
def test_a_cron_moved_to_utc_fires_at_the_same_instants(cron: str, timezone: str) -> None:
    parsed = parse(cron)
    assert isinstance(parsed, Cron)
    moved = eventbridge.in_utc(parsed, timezone)
    if moved is None:  # half-hour offsets, or runs that would change day
        offset = eventbridge.fixed_offset(timezone)
        assert offset is not None
        assert offset % dt.timedelta(hours=1) or any(
            not 0 <= hour - offset // dt.timedelta(hours=1) <= 23 for hour in parsed.hours
        )
        return
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert fire_times(moved, after=start, count=30) == fire_times(
        parsed, after=start, count=30, timezone=timezone
    )
