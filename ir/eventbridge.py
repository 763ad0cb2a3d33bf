"""EventBridge schedule expressions: reading ``cron(...)`` and ``rate(...)``, and their fire times.

The grammar is EventBridge's (shared by EventBridge rules and EventBridge Scheduler), which is
Quartz's without the seconds field:

    cron(Minutes Hours Day-of-month Month Day-of-week Year)

    Minutes       0-59                 , - * /
    Hours         0-23                 , - * /
    Day-of-month  1-31                 , - * ? / L W      (L: last day; 3W: weekday nearest the 3rd;
                                                           LW: last weekday)
    Month         1-12 or JAN-DEC      , - * /
    Day-of-week   1-7 or SUN-SAT       , - * ? L #        (1 is Sunday; L alone: Saturday;
                                                           6L: last Friday; 6#3: third Friday)
    Year          1970-2199            , - * /

One of Day-of-month and Day-of-week must be ``?``. ``a/n`` starts at ``a`` and steps by ``n``
to the field's maximum; ``a-b`` with ``a > b`` wraps around (``FRI-MON``).

    rate(1 minute | N minutes | 1 hour | N hours | 1 day | N days)
    at(yyyy-mm-ddThh:mm:ss)     one run (EventBridge Scheduler's one-time schedules)

Fire times follow EventBridge Scheduler's definition: a cron is evaluated in the schedule's
time zone; when clocks go forward, a time that does not exist that day is skipped; when they
go back, a time that happens twice runs once (the first time). A rate counts fixed durations
(a day is 24 hours) from the schedule's start. EventBridge rules are always UTC.

Every error is an InputError naming the expression, the field and the fix.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeglot.errors import InputError

UTC = dt.UTC
MIN_YEAR, MAX_YEAR = 1970, 2199
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge: SUN is 1
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names for low, low + 1, ...


MINUTES = _Field("Minutes", 0, 59)
HOURS = _Field("Hours", 0, 23)
DAY_OF_MONTH = _Field("Day-of-month", 1, 31)
MONTH = _Field("Month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = _Field("Day-of-week", 1, 7, DAY_NAMES)
YEAR = _Field("Year", MIN_YEAR, MAX_YEAR)
FIELDS = (MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR)


@dataclass(frozen=True, slots=True)
class DaySpec:
    """A Day-of-month or Day-of-week field. ``kind`` is one of:

    ``any`` (``?`` or ``*``), ``set`` (``values``), ``last`` (``L`` in Day-of-month),
    ``last_weekday`` (``LW``), ``nearest_weekday`` (``nW``, ``day`` = n), ``last_of`` (``nL`` in
    Day-of-week: the last weekday n of the month), ``nth`` (``n#k``: weekday n, occurrence k).
    Day-of-week values use EventBridge's numbering (1 = Sunday).
    """

    kind: str
    values: frozenset[int] = frozenset()
    day: int = 0
    occurrence: int = 0
    question: bool = False  # written as ``?``


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed ``cron(...)``; ``fields`` is the text inside the parentheses, as written."""

    fields: tuple[str, ...]
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DaySpec
    months: frozenset[int]
    day_of_week: DaySpec
    years: frozenset[int] | None  # None: every year

    @property
    def expression(self) -> str:
        return f"cron({' '.join(self.fields)})"

    def matches_date(self, day: dt.date) -> bool:
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        return _day_matches(self.day_of_month, day, True) and _day_matches(
            self.day_of_week, day, False
        )


@dataclass(frozen=True, slots=True)
class Rate:
    """A parsed ``rate(value unit)``."""

    value: int
    unit: str  # minute | hour | day (singular)

    @property
    def expression(self) -> str:
        return f"rate({self.value} {self.unit}{'' if self.value == 1 else 's'})"

    @property
    def seconds(self) -> int:
        return self.value * _RATE_UNITS[self.unit]

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.seconds)


@dataclass(frozen=True, slots=True)
class At:
    """A one-time schedule, ``at(yyyy-mm-ddThh:mm:ss)``: a wall-clock time in the schedule's
    time zone (EventBridge Scheduler only)."""

    local: dt.datetime  # naive

    @property
    def expression(self) -> str:
        return f"at({self.local.strftime('%Y-%m-%dT%H:%M:%S')})"


Expression = Cron | Rate | At


# --- Reading --------------------------------------------------------------------------------


def parse(text: str, *, where: str = "the schedule expression") -> Expression:
    """Read ``cron(...)``, ``rate(...)`` or ``at(...)``; InputError names ``where`` and the field
    at fault."""
    if not isinstance(text, str):
        raise InputError(
            "a schedule expression is a string such as 'cron(0 6 * * ? *)'", location=where
        )
    stripped = text.strip()
    if stripped.startswith("cron(") and stripped.endswith(")"):
        return parse_cron(stripped[5:-1], where=where)
    if stripped.startswith("rate(") and stripped.endswith(")"):
        return _parse_rate(stripped[5:-1], where)
    if stripped.startswith("at(") and stripped.endswith(")"):
        return _parse_at(stripped[3:-1], where)
    raise InputError(
        f"{text!r} is not an EventBridge schedule expression; write cron(Minutes Hours "
        "Day-of-month Month Day-of-week Year), e.g. cron(0 6 * * ? *), rate(N unit), "
        "e.g. rate(1 day), or at(yyyy-mm-ddThh:mm:ss) for one run",
        location=where,
    )


def _parse_at(inner: str, where: str) -> At:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", inner):
        try:
            return At(dt.datetime.strptime(inner, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            pass
    raise InputError(
        f"at({inner}) is not a one-time schedule: write at(yyyy-mm-ddThh:mm:ss), "
        "e.g. at(2026-12-24T18:00:00), a time in the schedule's time zone",
        location=where,
    )


def _parse_rate(inner: str, where: str) -> Rate:
    match = re.fullmatch(r"\s*(\d+)\s+([a-z]+)\s*", inner)
    example = "e.g. rate(1 day) or rate(15 minutes)"
    if match is None:
        raise InputError(
            f"rate({inner}) is not a rate: write rate(VALUE UNIT), {example}", location=where
        )
    value, unit = int(match[1]), match[2]
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise InputError(
            f"rate({inner}): the unit {unit!r} is not minute(s), hour(s) or day(s); {example}",
            location=where,
        )
    if value < 1:
        raise InputError(f"rate({inner}): the value must be a positive integer", location=where)
    if (value == 1) != (unit == singular):
        expected = singular if value == 1 else singular + "s"
        raise InputError(
            f"rate({inner}): EventBridge wants the unit {expected!r} with the value {value}, "
            f"as in rate({value} {expected})",
            location=where,
        )
    return Rate(value, singular)


def parse_cron(inner: str, *, where: str = "the schedule expression") -> Cron:
    """Read the six fields of ``cron(...)`` (the text between the parentheses)."""
    fields = tuple(inner.split())
    shown = f"cron({inner})"
    if len(fields) != 6:
        raise InputError(
            f"{shown} has {len(fields)} fields; EventBridge cron has six: Minutes Hours "
            "Day-of-month Month Day-of-week Year, e.g. cron(0 6 * * ? *)",
            location=where,
        )
    upper = tuple(field.upper() for field in fields)
    context = _Context(shown, where)
    day_of_month = _day_of_month(upper[2], context)
    day_of_week = _day_of_week(upper[4], context)
    if day_of_month.question == day_of_week.question:
        raise InputError(
            f"{shown}: exactly one of Day-of-month ({fields[2]}) and Day-of-week ({fields[4]}) "
            "must be '?'; use ? in the one you do not restrict, e.g. cron(0 6 * * ? *) or "
            "cron(0 6 ? * MON-FRI *)",
            location=where,
        )
    years = None if upper[5] == "*" else _values(upper[5], YEAR, context)
    return Cron(
        fields=fields,
        minutes=_values(upper[0], MINUTES, context),
        hours=_values(upper[1], HOURS, context),
        day_of_month=day_of_month,
        months=_values(upper[3], MONTH, context),
        day_of_week=day_of_week,
        years=years,
    )


@dataclass(frozen=True, slots=True)
class _Context:
    shown: str
    where: str

    def fail(self, spec: _Field, text: str, problem: str) -> InputError:
        allowed = f"{spec.low}-{spec.high}"
        if spec.names:
            allowed += f" or {spec.names[0]}-{spec.names[-1]}"
        return InputError(
            f"{self.shown}: the {spec.name} field {text!r} {problem} (it takes {allowed})",
            location=self.where,
        )


def _values(text: str, spec: _Field, context: _Context) -> frozenset[int]:
    """A plain field: a list of ``*``, ``a``, ``a-b``, each optionally ``/step``."""
    found: set[int] = set()
    for item in text.split(","):
        found.update(_item(item, spec, context))
    return frozenset(found)


def _item(item: str, spec: _Field, context: _Context) -> Iterator[int]:
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise context.fail(spec, item, "has a step that is not a positive integer")
        step = int(step_text)
    if body == "*":
        low, high = spec.low, spec.high
    elif "-" in body:
        first, _, last = body.partition("-")
        low, high = _number(first, spec, context, item), _number(last, spec, context, item)
    else:
        low = _number(body, spec, context, item)
        high = spec.high if slash else low
    span = high - low if high >= low else high - low + spec.high - spec.low + 1  # wraps
    for offset in range(0, span + 1, step):
        yield spec.low + (low - spec.low + offset) % (spec.high - spec.low + 1)


def _number(text: str, spec: _Field, context: _Context, item: str) -> int:
    if text in spec.names:
        return spec.low + spec.names.index(text)
    if not text.isdigit():
        problem = "is not a number" + (" or a name" if spec.names else "")
        if text in ("?", "L", "W", "#") or any(mark in text for mark in "?LW#"):
            problem = f"uses {text!r}, which this field does not allow"
        raise context.fail(spec, item, problem)
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise context.fail(spec, item, "is out of range")
    return value


def _day_of_month(text: str, context: _Context) -> DaySpec:
    if text == "?":
        return DaySpec("any", question=True)
    if text == "*":
        return DaySpec("any")
    if text == "L":
        return DaySpec("last")
    if text == "LW":
        return DaySpec("last_weekday")
    if text.endswith("W"):
        day = _number(text[:-1], DAY_OF_MONTH, context, text)
        return DaySpec("nearest_weekday", day=day)
    if "L" in text or "W" in text:
        raise context.fail(
            DAY_OF_MONTH, text, "combines L or W with other values; write L, LW or nW alone"
        )
    return DaySpec("set", _values(text, DAY_OF_MONTH, context))


def _day_of_week(text: str, context: _Context) -> DaySpec:
    if text == "?":
        return DaySpec("any", question=True)
    if text == "*":
        return DaySpec("any")
    if text == "L":  # the last day of the week
        return DaySpec("set", frozenset({7}))
    if "#" in text:
        day_text, _, occurrence = text.partition("#")
        day = _number(day_text, DAY_OF_WEEK, context, text)
        if occurrence not in ("1", "2", "3", "4", "5"):
            raise context.fail(
                DAY_OF_WEEK, text, "has an occurrence after # that is not 1-5 (6#3: third Friday)"
            )
        return DaySpec("nth", day=day, occurrence=int(occurrence))
    if text.endswith("L"):
        return DaySpec("last_of", day=_number(text[:-1], DAY_OF_WEEK, context, text))
    if "L" in text.replace("JUL", ""):
        raise context.fail(DAY_OF_WEEK, text, "combines L with other values; write nL alone")
    if "/" in text:
        raise context.fail(DAY_OF_WEEK, text, "uses '/', which this field does not allow")
    return DaySpec("set", _values(text, DAY_OF_WEEK, context))


# --- Matching days ----------------------------------------------------------------------------


def eventbridge_weekday(day: dt.date) -> int:
    """EventBridge's day-of-week number: 1 Sunday ... 7 Saturday."""
    return (day.isoweekday() % 7) + 1


def _day_matches(spec: DaySpec, day: dt.date, of_month: bool) -> bool:
    kind = spec.kind
    if kind == "any":
        return True
    last = calendar.monthrange(day.year, day.month)[1]
    if kind == "set":
        return (day.day if of_month else eventbridge_weekday(day)) in spec.values
    if kind == "last":
        return day.day == last
    if kind == "last_weekday":
        return day.day == _nearest_weekday(day.year, day.month, last)
    if kind == "nearest_weekday":
        return spec.day <= last and day.day == _nearest_weekday(day.year, day.month, spec.day)
    if kind == "last_of":
        return eventbridge_weekday(day) == spec.day and day.day + 7 > last
    if kind == "nth":
        return eventbridge_weekday(day) == spec.day and (day.day - 1) // 7 + 1 == spec.occurrence
    raise AssertionError(kind)


def _nearest_weekday(year: int, month: int, target: int) -> int:
    """The Monday-to-Friday day nearest ``target``, never leaving the month (Quartz's W)."""
    last = calendar.monthrange(year, month)[1]
    weekday = dt.date(year, month, target).weekday()  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return target + 2 if target == 1 else target - 1
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the month's last day
        return target - 2 if target == last else target + 1
    return target


# --- Fire times -------------------------------------------------------------------------------


def zone(name: str, *, where: str = "the schedule's time zone") -> ZoneInfo:
    """The IANA time zone ``name`` (InputError names ``where`` when it is unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{name!r} is not an IANA time zone; use a name such as 'UTC', 'Europe/Berlin' "
            "or 'America/New_York'",
            location=where,
        ) from None


def fire_times(
    expression: Expression,
    *,
    after: dt.datetime,
    count: int,
    timezone: str = "UTC",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dt.datetime]:
    """The next ``count`` times (UTC, aware) strictly after ``after`` that EventBridge Scheduler
    invokes the target, within ``[start, end]``. A rate with no ``start`` counts from ``after``
    (EventBridge starts a rate schedule when it is created)."""
    after = _aware(after)
    lower = after if start is None else max(after, _aware(start) - dt.timedelta(microseconds=1))
    upper = None if end is None else _aware(end)
    if isinstance(expression, Rate):
        times = _rate_times(expression, _aware(start) if start else after, lower)
    elif isinstance(expression, At):  # one run; a one-time schedule ignores start and end
        moment = resolve_local(expression.local, zone(timezone))
        return [moment] if moment is not None and moment > after and count > 0 else []
    else:
        times = _cron_times(expression, zone(timezone), lower)
    found: list[dt.datetime] = []
    for moment in times:
        if upper is not None and moment > upper:
            break
        found.append(moment)
        if len(found) == count:
            break
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _rate_times(rate: Rate, anchor: dt.datetime, after: dt.datetime) -> Iterator[dt.datetime]:
    step = rate.interval
    index = 0 if anchor > after else (after - anchor) // step + 1
    while True:
        yield anchor + index * step
        index += 1


def _cron_times(cron: Cron, tz: ZoneInfo, after: dt.datetime) -> Iterator[dt.datetime]:
    """Walk the days from ``after``'s local date; each matching day yields its times."""
    day = after.astimezone(tz).date() - dt.timedelta(days=1)  # a time may fold back a day
    times = sorted((hour, minute) for hour in cron.hours for minute in cron.minutes)
    while day.year <= MAX_YEAR:
        if cron.years is not None and day.year not in cron.years:
            if not any(year > day.year for year in cron.years):
                return
            day = dt.date(min(y for y in cron.years if y > day.year), 1, 1)
            continue
        if day.month not in cron.months:
            day = _first_of_next_month(day)
            continue
        if cron.matches_date(day):
            for hour, minute in times:
                moment = resolve_local(dt.datetime(day.year, day.month, day.day, hour, minute), tz)
                if moment is not None and moment > after:
                    yield moment
        day += dt.timedelta(days=1)


def _first_of_next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def resolve_local(local: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """A wall-clock time in ``tz`` as EventBridge Scheduler runs it, in UTC: None when the
    clocks skip it; the first of the two when it happens twice."""
    first = local.replace(tzinfo=tz, fold=0)
    moment = first.astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != local:
        return None  # in the gap the clocks jump over
    return moment


def dst_sensitive_times(cron: Cron, timezone: str) -> list[str]:
    """The ``HH:MM`` wall-clock times of ``cron`` that fall in a daylight-saving change of
    ``timezone`` (skipped, or happening twice) on a day it runs, between 2020 and 2040: where
    schedulers differ."""
    tz = zone(timezone)
    changes = _offset_change_days(tz)
    found = set()
    for day in changes:
        if not cron.matches_date(day):
            continue  # a weekday schedule never meets a Sunday change
        for hour in cron.hours:
            for minute in cron.minutes:
                local = dt.datetime(day.year, day.month, day.day, hour, minute)
                early = local.replace(tzinfo=tz, fold=0).utcoffset()
                late = local.replace(tzinfo=tz, fold=1).utcoffset()
                if early != late:
                    found.add(f"{hour:02d}:{minute:02d}")
    return sorted(found)


@functools.cache
def _offset_change_days(tz: ZoneInfo) -> tuple[dt.date, ...]:
    days: list[dt.date] = []
    day = dt.date(2020, 1, 1)
    previous = dt.datetime(2019, 12, 31, 12, tzinfo=tz).utcoffset()
    while day.year < 2040:
        offset = dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
        if offset != previous:
            days.extend((day - dt.timedelta(days=1), day))
            previous = offset
        day += dt.timedelta(days=1)
    return tuple(days)


# --- Standard five-field cron, for targets that evaluate one ------------------------------------


@dataclass(frozen=True, slots=True)
class StandardCron:
    """An EventBridge cron as ``minute hour day-of-month month day-of-week`` (Sunday is 0), or
    why it cannot be one. ``years`` is the Year restriction a target must add through its
    start and end dates (None: every year)."""

    fields: tuple[str, ...] | None
    problem: str | None = None
    years: frozenset[int] | None = None

    @property
    def text(self) -> str:
        assert self.fields is not None
        return " ".join(self.fields)


def to_standard_cron(cron: Cron, *, last_and_nth: bool) -> StandardCron:
    """The five standard fields of ``cron``. ``last_and_nth``: the target's cron reads ``L``
    in Day-of-month, ``L5`` (last Friday) and ``5#3`` (third Friday), as croniter does.
    Values are written out (``0,15,30,45``, or ``*/15`` when that says the same), so no
    dialect's reading of ``a/n`` or of wrapping ranges matters."""
    day_of_month = _standard_day_of_month(cron.day_of_month, last_and_nth)
    day_of_week = _standard_day_of_week(cron.day_of_week, last_and_nth)
    for part in (day_of_month, day_of_week):
        if isinstance(part, StandardCron):
            return StandardCron(None, part.problem, cron.years)
    fields = (
        _compact(cron.minutes, MINUTES),
        _compact(cron.hours, HOURS),
        day_of_month,
        _compact(cron.months, MONTH),
        day_of_week,
    )
    return StandardCron(tuple(str(field) for field in fields), None, cron.years)


def _standard_day_of_month(spec: DaySpec, last_and_nth: bool) -> str | StandardCron:
    if spec.kind == "any":
        return "*"
    if spec.kind == "set":
        return _compact(spec.values, DAY_OF_MONTH)
    if spec.kind == "last" and last_and_nth:
        return "L"
    written = {"last": "L", "last_weekday": "LW", "nearest_weekday": f"{spec.day}W"}[spec.kind]
    return StandardCron(None, f"the Day-of-month {written!r} has no standard cron form")


def _standard_day_of_week(spec: DaySpec, last_and_nth: bool) -> str | StandardCron:
    if spec.kind == "any":
        return "*"
    if spec.kind == "set":
        return _compact(frozenset(day - 1 for day in spec.values), _Field("", 0, 6))
    if last_and_nth and spec.kind == "last_of":
        return f"L{spec.day - 1}"
    if last_and_nth and spec.kind == "nth":
        return f"{spec.day - 1}#{spec.occurrence}"
    written = f"{spec.day}L" if spec.kind == "last_of" else f"{spec.day}#{spec.occurrence}"
    return StandardCron(None, f"the Day-of-week {written!r} has no standard cron form")


def _compact(values: frozenset[int], spec: _Field) -> str:
    """``*``, ``*/n``, or the values as a list of runs (``1-5,7``)."""
    ordered = sorted(values)
    full = list(range(spec.low, spec.high + 1))
    if ordered == full:
        return "*"
    for step in range(2, spec.high - spec.low + 1):
        if ordered == full[::step]:
            return f"*/{step}"
    runs: list[str] = []
    first = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(first) if first == previous else f"{first}-{previous}")
        if value is not None:
            first = previous = value
    return ",".join(runs)


def year_bounds(years: frozenset[int] | None) -> tuple[int, int] | None:
    """(first, last) when ``years`` is one unbroken run of years (a start and an end date can
    carry it); None for every year. ValueError when it has gaps."""
    if years is None:
        return None
    first, last = min(years), max(years)
    if len(years) != last - first + 1:
        raise ValueError("years with gaps")
    return first, last


def fixed_offset(timezone: str) -> dt.timedelta | None:
    """The zone's UTC offset when it does not change between 2020 and 2040 (no daylight
    saving), else None."""
    tz = zone(timezone)
    if _offset_change_days(tz):
        return None
    return dt.datetime(2030, 1, 1, tzinfo=tz).utcoffset()


def in_utc(cron: Cron, timezone: str) -> Cron | None:
    """The same cron written in UTC, for targets that evaluate crons in UTC: possible when the
    zone's offset is fixed and whole hours, and no run time moves to another day."""
    offset = fixed_offset(timezone)
    if offset is None or offset % dt.timedelta(hours=1):
        return None
    shift = offset // dt.timedelta(hours=1)
    hours = frozenset(hour - shift for hour in cron.hours)
    if min(hours) < HOURS.low or max(hours) > HOURS.high:
        return None  # the day, and so the day fields, would change too
    fields = (cron.fields[0], _compact(hours, HOURS), *cron.fields[2:])
    return dataclasses.replace(cron, hours=hours, fields=fields)
