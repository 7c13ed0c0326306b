"""When a schedule fires: cron, one-off and interval recurrences in an IANA zone, across DST.

Cron times are wall-clock times in the schedule's zone, and each wall-clock time names exactly
one instant:

- a time that happens twice (inside the repeated hour when clocks go back) fires once, at its
  first occurrence;
- a time that never happens (inside the skipped hour when clocks go forward, such as 02:30 in
  America/New_York on the spring-forward day) fires once, at the first valid instant after it,
  which is the moment the clocks jump (03:00 local there).

So a daily 00:00 fires every day, once. Several wall-clock times that fall into one skipped
hour share that one instant and fire once together.

Cron expressions have five fields (minute hour day-of-month month day-of-week) with `*`,
lists, ranges, steps and English names (`mon`, `jan`); day-of-week 0 and 7 are Sunday. As in
cronsim and croniter, the day-of-month field also takes `L` (the month's last day) and `LW`
(its last Monday-to-Friday day), and the day-of-week field `DOW#N` (the Nth such weekday of
the month, N 1-5: `fri#2`, `5#2`) and `DOWL` (the month's last such weekday: `5L`, `friL`).

How the two day fields combine is classic cron's rule: when either field starts with `*`, a
day must match both (so `*` leaves the other field alone); when both are restricted, a day
matching EITHER one fires: `0 9 1-7 * wed` fires on days 1-7 and on every Wednesday (use
`wed#1` for the first Wednesday). The macros `@hourly`, `@daily`, `@weekly` (Monday 00:00),
`@monthly` and `@yearly` are accepted.

The search for the next fire has no horizon: months outside the month field are skipped
whole, so `0 0 29 2 */7` (29 February on a Sunday) finds 2032, 2060, 2088 and on; an
expression that matches no day in 400 years (the calendar's cycle), such as `0 0 30 2 *`,
never fires.

`every` recurrences count elapsed time, not wall-clock time: `--every 1d` fires 86 400 s apart
from the moment the schedule was added, whatever the zone does.

Blackout windows (`drill.toml`, `[schedule] blackout`) are wall-clock windows too, in their
own `tz` (default: the workspace `timezone`), start included, end excluded:

    [schedule]
    blackout = [
      {start = "2026-12-24T00:00", end = "2026-12-26T00:00", tz = "Asia/Shanghai"},
      {days = ["sat", "sun"], from = "00:00", to = "24:00"},
    ]

A dated window has `start` and `end`; a weekly window has `from` and `to` (HH:MM, `to` later
than `from`, `24:00` for the end of the day) and optional `days` (default: every day).
`clear_fires` gives the fires that will actually start: those outside every window.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from calendar import monthrange
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from drillkit.model.blackouts import Blackout, parse_local, resolve_wall
from drillkit.model.errors import UsageError
from drillkit.model.timefmt import check_zone

Kind = Literal["cron", "at", "every"]

BLACKOUT_SEARCH = 4096  # blacked-out fires looked past before "no next fire"
_TINY = timedelta(microseconds=1)
_CYCLE_MONTHS = 400 * 12  # the Gregorian calendar repeats every 400 years
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * mon",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELD = re.compile(r"^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/(\d+))?$")
_EXTRAS = {"minute": "", "hour": "", "day-of-month": ", L or LW", "day-of-week": ", names, fri#2 or 5L"}
_SPECIAL_WEEKDAY = re.compile(r"^([a-z0-9]+)(?:#(\d+)|(l))$")  # `fri#2`, `5#2`, `5l`


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field, and the day rules beyond them
    (`L` and `LW` in day-of-month; `DOW#N` and `DOWL` in day-of-week)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # Python weekday numbers: Monday 0 … Sunday 6
    days_restricted: bool
    weekdays_restricted: bool
    last_day: bool = False  # `L`: the month's last day
    last_workday: bool = False  # `LW`: the month's last Monday-to-Friday day
    nth_weekdays: frozenset[tuple[int, int]] = frozenset()  # `fri#2`: (Python weekday, N)
    last_weekdays: frozenset[int] = frozenset()  # `5L`: the month's last such weekday

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_date, by_weekday = self._by_date(day), self._by_weekday(day)
        if self.days_restricted and self.weekdays_restricted:
            return by_date or by_weekday
        return by_date and by_weekday

    def _by_date(self, day: date) -> bool:
        if day.day in self.days:
            return True
        length = monthrange(day.year, day.month)[1]
        return (self.last_day and day.day == length) or (self.last_workday and day.day == _last_workday(day, length))

    def _by_weekday(self, day: date) -> bool:
        weekday = day.weekday()
        if weekday in self.weekdays or (weekday, (day.day + 6) // 7) in self.nth_weekdays:
            return True
        return weekday in self.last_weekdays and day.day + 7 > monthrange(day.year, day.month)[1]

    def days_from(self, start: date) -> Iterator[date]:
        """The matching days from `start` on, earliest first: months outside the month field are
        skipped whole, and the search ends after `_CYCLE_MONTHS` without a match (the calendar
        repeats every 400 years, so such an expression never matches again)."""
        month_start, idle = start.replace(day=1), 0
        while idle <= _CYCLE_MONTHS and month_start.year < MAXYEAR:
            if month_start.month in self.months:
                length = monthrange(month_start.year, month_start.month)[1]
                first = start.day if month_start <= start else 1
                for number in range(first, length + 1):
                    day = month_start.replace(day=number)
                    if self.matches_day(day):
                        idle = 0
                        yield day
            idle += 1
            month_start = _next_month(month_start)

    def days_back(self, start: date, stop: date) -> Iterator[date]:
        """The matching days from `start` back to `stop` (both included), latest first."""
        month_start = start.replace(day=1)
        while month_start >= stop.replace(day=1):
            if month_start.month in self.months:
                last = start.day if month_start.month == start.month and month_start.year == start.year else None
                length = last or monthrange(month_start.year, month_start.month)[1]
                for number in range(length, 0, -1):
                    day = month_start.replace(day=number)
                    if day < stop:
                        return
                    if self.matches_day(day):
                        yield day
            if month_start.year == MINYEAR and month_start.month == 1:
                return
            month_start = (month_start - timedelta(days=1)).replace(day=1)

    @cached_property
    def times(self) -> tuple[time, ...]:
        """The wall-clock times of a matching day, earliest first."""
        return tuple(time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes))


def _next_month(month_start: date) -> date:
    return date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)


def _last_workday(day: date, length: int) -> int:
    """The day of the month of its last Monday-to-Friday day."""
    last = day.replace(day=length).weekday()
    return length - max(0, last - 4)


def parse_cron(expr: str) -> CronSpec:
    """Parse five cron fields (or a macro); UsageError naming the bad field."""
    text = _MACROS.get(expr.strip().lower(), expr.strip().lower())
    fields = text.split()
    if len(fields) != 5:
        raise UsageError(f"cron expression {expr!r} needs five fields: minute hour day-of-month month day-of-week")
    minute, hour, day, month, weekday = fields
    plain_days, last_day, last_workday = _day_of_month(day)
    plain_weekdays, nth_weekdays, last_weekdays = _day_of_week(weekday)
    return CronSpec(
        minutes=_field(minute, 0, 59, [], "minute"),
        hours=_field(hour, 0, 23, [], "hour"),
        days=_field(plain_days, 1, 31, [], "day-of-month") if plain_days else frozenset(),
        months=_field(month, 1, 12, _MONTHS, "month", first=1),
        weekdays=frozenset((d - 1) % 7 for d in _field(plain_weekdays, 0, 7, _CRON_DAYS, "day-of-week"))
        if plain_weekdays
        else frozenset(),
        days_restricted=not day.startswith("*"),
        weekdays_restricted=not weekday.startswith("*"),
        last_day=last_day,
        last_workday=last_workday,
        nth_weekdays=nth_weekdays,
        last_weekdays=last_weekdays,
    )


def _day_of_month(text: str) -> tuple[str, bool, bool]:
    """The plain part of a day-of-month field, and whether it names `L` and `LW`."""
    parts = text.split(",")
    plain = ",".join(part for part in parts if part not in {"l", "lw"})
    return plain, "l" in parts, "lw" in parts


def _day_of_week(text: str) -> tuple[str, frozenset[tuple[int, int]], frozenset[int]]:
    """The plain part of a day-of-week field, its `DOW#N` terms and its `DOWL` terms (Python weekdays)."""
    plain: list[str] = []
    nth: set[tuple[int, int]] = set()
    last: set[int] = set()
    for part in text.split(","):
        special = _SPECIAL_WEEKDAY.match(part)
        if special is None:
            plain.append(part)
            continue
        name, number, is_last = special.groups()
        value = _value(name, _CRON_DAYS, 0, "day-of-week")
        if value > 7:
            raise UsageError(f"cron day-of-week field {text!r} is out of range 0-7")
        weekday = (value - 1) % 7
        if is_last:
            last.add(weekday)
        elif not 1 <= int(number) <= 5:
            raise UsageError(f"cron day-of-week field {text!r}: in {part!r} the week of the month is 1-5")
        else:
            nth.add((weekday, int(number)))
    return ",".join(plain), frozenset(nth), frozenset(last)


def _field(text: str, low: int, high: int, names: list[str], what: str, *, first: int = 0) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        match = _FIELD.match(part)
        if match is None:
            allowed = "*, 5, 1-5, */15, 1,15" + _EXTRAS.get(what, " or names")
            raise UsageError(f"cron {what} field {text!r} is not valid: use {allowed}")
        star, start, end, step = match.groups()
        lo = low if star else _value(start, names, first, what)
        hi = high if star or (step and end is None) else _value(end or start, names, first, what)
        _check_part(text, part, (lo, hi, int(step or 1)), (low, high), what)
        values.update(range(lo, hi + 1, int(step or 1)))
    return frozenset(values)


def _check_part(text: str, part: str, span: tuple[int, int, int], bounds: tuple[int, int], what: str) -> None:
    """One part of a field: within the field's range, a range that goes upwards, a step above 0."""
    lo, hi, step = span
    low, high = bounds
    if not (low <= lo <= high and low <= hi <= high):
        raise UsageError(f"cron {what} field {text!r} is out of range {low}-{high}")
    if hi < lo:
        raise UsageError(f"cron {what} field {text!r}: the range {part!r} runs backwards; write it low-high")
    if step == 0:
        raise UsageError(f"cron {what} field {text!r}: the step in {part!r} must be 1 or more")


def _value(token: str, names: list[str], first: int, what: str) -> int:
    if token.isdigit():
        return int(token)
    if token in names:
        return names.index(token) + first
    raise UsageError(f"cron {what} value {token!r} is not a number or a known name")


@dataclass(frozen=True, kw_only=True)
class Recurrence:
    """When one schedule fires: `cron`, a one-off `at`, or `every` N seconds from `anchor`."""

    kind: Kind
    expr: str
    zone: str
    anchor: datetime
    _cron: CronSpec | None = field(default=None, repr=False, compare=False)
    _at: datetime | None = field(default=None, repr=False, compare=False)

    @classmethod
    def make(cls, kind: str, expr: str, zone: str, anchor: datetime) -> Recurrence:
        """A checked recurrence; UsageError for a bad expression or zone."""
        check_zone(zone)
        if kind == "cron":
            return cls(kind="cron", expr=expr, zone=zone, anchor=anchor, _cron=parse_cron(expr))
        if kind == "at":
            return cls(kind="at", expr=expr, zone=zone, anchor=anchor, _at=parse_local(expr, zone))
        if kind == "every":
            if not expr.isdigit() or int(expr) <= 0:
                raise UsageError(f"interval {expr!r} must be a positive number of seconds")
            return cls(kind="every", expr=expr, zone=zone, anchor=anchor)
        raise UsageError(f"unknown schedule kind {kind!r}; use cron, at or every")

    def next_after(self, when: datetime) -> datetime | None:
        """The first fire strictly after `when`, or None if there is none."""
        if self._at is not None:
            return self._at if self._at > when else None
        if self._cron is None:
            step = int(self.expr)
            count = max(1, int((when - self.anchor).total_seconds() // step) + 1)
            try:
                return self.anchor + timedelta(seconds=step * count)
            except OverflowError:  # past the year 9999, as a cron search ends at MAXYEAR
                return None
        return next(self._cron_forward(when), None)

    def last_between(self, after: datetime, upto: datetime) -> datetime | None:
        """The latest fire in (after, upto], or None; work grows with days, never with fires."""
        if self._at is not None:
            return self._at if after < self._at <= upto else None
        if self._cron is None:
            count = int((upto - self.anchor).total_seconds() // int(self.expr))
            latest = self.anchor + timedelta(seconds=int(self.expr) * count)
            return latest if count >= 1 and latest > after else None
        return self._cron_backward(after, upto)

    def fires(self, after: datetime, upto: datetime, limit: int) -> list[datetime]:
        """Fires in (after, upto], earliest first, at most `limit` of them."""
        found: list[datetime] = []
        cursor = self.next_after(after)
        while cursor is not None and cursor <= upto and len(found) < limit:
            found.append(cursor)
            cursor = self.next_after(cursor)
        return found

    def _cron_forward(self, when: datetime) -> Iterator[datetime]:
        assert self._cron is not None
        zone = ZoneInfo(self.zone)
        for current in self._cron.days_from(when.astimezone(zone).date() - timedelta(days=1)):
            times = self._cron.times
            first = bisect_right(
                range(len(times)), when, key=lambda i: resolve_wall(datetime.combine(current, times[i]), zone)
            )
            for wall in times[first:]:
                yield resolve_wall(datetime.combine(current, wall), zone)

    def _cron_backward(self, after: datetime, upto: datetime) -> datetime | None:
        assert self._cron is not None
        zone = ZoneInfo(self.zone)
        start = upto.astimezone(zone).date() + timedelta(days=1)
        stop = after.astimezone(zone).date() - timedelta(days=1)
        for day in self._cron.days_back(start, stop):
            for wall in reversed(self._cron.times):
                instant = resolve_wall(datetime.combine(day, wall), zone)
                if instant <= after:
                    return None
                if instant <= upto:
                    return instant
        return None


def clear_fires(
    recurrence: Recurrence, windows: Sequence[Blackout], after: datetime, *, search: int = BLACKOUT_SEARCH
) -> Iterator[datetime]:
    """The fires after `after` that will actually start, earliest first: nominal fire times in a
    blackout window are left out. What every view of "the next fire" uses.

    The daemon tests the fire's actual start (its nominal time plus the jitter it draws when the
    fire comes due) against the windows; a view cannot know that jitter yet, so it tests the
    nominal time. A jittered fire just before a window may still be skipped when it comes due.

    The search is bounded: a fire inside a window moves the search to where that window ends,
    and past `search` blacked-out fires it stops, so a schedule entirely inside a permanent
    blackout has no next fire (instead of a search without end).
    """
    cursor, skipped = recurrence.next_after(after), 0
    while cursor is not None:
        window = next((w for w in windows if w.covers(cursor)), None)
        if window is None:
            yield cursor
            cursor = recurrence.next_after(cursor)
            continue
        skipped += 1
        if skipped > search:
            return
        cursor = recurrence.next_after(max(window.covered_until(cursor) - _TINY, cursor))
