"""Blackout windows, and naming an instant by a wall-clock time in a zone.

A blackout window (`drill.toml`, `[schedule] blackout`) is a value: `drill.toml`'s checks and the
scheduler both read it. Windows are wall-clock windows in their own `tz` (default: the workspace
`timezone`), start included, end excluded; a dated window has `start` and `end`, a weekly window
`from` and `to` (HH:MM, `24:00` for the end of the day) and optional `days`. A wall-clock time
that happens twice names its first instant; one that never happens (a spring-forward gap) names
the instant the clocks jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from drillkit.model.errors import UsageError
from drillkit.model.timefmt import YEARS, YEARS_SAID, check_zone

_TINY = timedelta(microseconds=1)
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def resolve_wall(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive wall-clock time names in `zone` (rules in the module docstring)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump over a skipped wall time: binary search between the two readings."""
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return offset_change(zone, min(before, after), max(before, after))


def offset_change(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The second a zone's UTC offset changes between two instants that have different offsets."""
    offset_before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def parse_local(text: str, zone: str) -> datetime:
    """`2026-12-01T09:00` as wall-clock time in `zone` (or an explicit offset), as UTC; only in
    `YEARS`, as for `--since` (9999-12-31T23:59 in UTC-12 is past the last datetime)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"time {text!r} is not valid: use YYYY-MM-DDTHH:MM, optionally with an offset") from None
    if parsed.year not in YEARS:
        raise UsageError(f"time {text!r} is out of range: use a time {YEARS_SAID}")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return resolve_wall(parsed, ZoneInfo(zone))


@dataclass(frozen=True, kw_only=True)
class Blackout:
    """A window in which no scheduled drill starts: dated (`start`/`end`) or weekly (`days`, `from`/`to`)."""

    zone: str
    start: datetime | None = None
    end: datetime | None = None
    weekdays: frozenset[int] = frozenset(range(7))
    daily_from: time | None = None
    daily_to: time | None = None  # None with daily_from set: until the end of the day

    def covers(self, when: datetime) -> bool:
        if self.start is not None and self.end is not None:
            return self.start <= when < self.end
        local = when.astimezone(ZoneInfo(self.zone))
        assert self.daily_from is not None
        if local.weekday() not in self.weekdays or local.time().replace(tzinfo=None) < self.daily_from:
            return False
        return self.daily_to is None or local.time().replace(tzinfo=None) < self.daily_to

    def covered_until(self, when: datetime) -> datetime:
        """An instant up to which this window, which covers `when`, certainly covers every instant.

        A dated window: its end. A weekly window: the end of its stretch on `when`'s day, counted
        in the UTC offset in force at `when`; if the zone changes its offset before then, `when`.
        """
        if self.end is not None:
            return self.end
        zone = ZoneInfo(self.zone)
        local = when.astimezone(zone)
        offset = local.utcoffset() or timedelta()
        day_end = datetime.combine(local.date(), self.daily_to or time(0))
        if self.daily_to is None:
            day_end += timedelta(days=1)
        until = (day_end - offset).replace(tzinfo=UTC)
        return until if (until - _TINY).astimezone(zone).utcoffset() == offset else when

    def describe(self) -> str:
        if self.start is not None and self.end is not None:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        days = ",".join(_WEEKDAYS[d] for d in sorted(self.weekdays))
        until = self.daily_to.strftime("%H:%M") if self.daily_to else "24:00"
        assert self.daily_from is not None
        return f"{days} {self.daily_from.strftime('%H:%M')}-{until} {self.zone}"


def parse_blackouts(raw: tuple[dict[str, Any], ...], default_zone: str) -> list[Blackout]:
    """The `[schedule] blackout` windows of `drill.toml`; UsageError naming the bad one."""
    return [_blackout(window, default_zone, number) for number, window in enumerate(raw, start=1)]


def _blackout(window: dict[str, Any], default_zone: str, number: int) -> Blackout:
    where = f"drill.toml [schedule] blackout window {number}"
    if not isinstance(window, dict):
        raise UsageError(f"{where} must be a table such as {{days = ['sat'], from = '00:00', to = '24:00'}}")
    keys = set(window)
    zone = _zone(str(window.get("tz", default_zone)), where)
    if keys <= {"start", "end", "tz"} and {"start", "end"} <= keys:
        start, end = _dated(window["start"], zone, where), _dated(window["end"], zone, where)
        if end <= start:
            raise UsageError(f"{where}: end must be later than start")
        return Blackout(zone=zone, start=start, end=end)
    if keys <= {"days", "from", "to", "tz"} and {"from", "to"} <= keys:
        daily_from, daily_to = _clock_time(window["from"], where), _clock_time(window["to"], where)
        if daily_from is None or (daily_to is not None and daily_to <= daily_from):
            raise UsageError(f"{where}: 'to' must be later than 'from' (use 24:00 for the end of the day)")
        days = _weekdays(window.get("days"), where)
        return Blackout(zone=zone, weekdays=days, daily_from=daily_from, daily_to=daily_to)
    raise UsageError(f"{where} needs either start and end, or from and to (with optional days), and optional tz")


def _zone(name: str, where: str) -> str:
    """A window's `tz`, or a UsageError naming the window (not to be taken for a bad `--tz`)."""
    try:
        return check_zone(name)
    except UsageError as err:
        raise UsageError(f"{where}: {err}") from None


def _dated(value: object, zone: str, where: str) -> datetime:
    """A dated window's `start` or `end`, or a UsageError naming the window."""
    try:
        return parse_local(str(value), zone)
    except UsageError as err:
        raise UsageError(f"{where}: {err}") from None


def _clock_time(value: object, where: str) -> time | None:
    """HH:MM; `24:00` (None) is the end of the day."""
    text = str(value)
    if text == "24:00":
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a time of day HH:MM") from None


def _weekdays(value: object, where: str) -> frozenset[int]:
    if value is None:
        return frozenset(range(7))
    names = [str(day).lower()[:3] for day in value] if isinstance(value, list) else []
    if not names or any(name not in _WEEKDAYS for name in names):
        raise UsageError(f"{where}: days must be a list like ['sat', 'sun']")
    return frozenset(_WEEKDAYS.index(name) for name in names)
