"""The exercise calendar as iCalendar (RFC 5545): one event per upcoming fire, in its own zone.

Each event starts at the schedule's nominal fire time, given as wall-clock time with the
schedule's `TZID` (UTC times end in `Z`), and lasts the scenario's `time_limit`. Every zone
named gets a `VTIMEZONE` with one observance per offset change in the exported span, so a
calendar reader needs no zone database of its own. Paused schedules are left out, and so are
fires inside a blackout window (`schedule.upcoming.upcoming_fires`); a schedule contributes at most
`PER_SCHEDULE` events within `HORIZON_DAYS`.

A calendar holds at least one component (RFC 5545 §3.4, §3.6): with no upcoming drill it holds
the display zone's `VTIMEZONE`, which every calendar reader accepts and none shows as an item.
Each event's `UID` is a UUID (RFC 7986 §5.3) named by the schedule as it was added (its id and the
millisecond it was added, kept by the schedule store) and the fire: the same on every export and
every machine sharing the store, so a re-import updates rather than duplicates, and different in
another workspace, so two workspaces' calendars in one reader never replace each other's drills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from drillkit.model.blackouts import Blackout, offset_change
from drillkit.model.clock import format_utc
from drillkit.model.durations import format_duration
from drillkit.model.inert import inert
from drillkit.schedule.port import Schedule
from drillkit.schedule.upcoming import upcoming_fires

HORIZON_DAYS = 366
PER_SCHEDULE = 500
_PRODID = "-//drillkit//exercise schedule//EN"
_UIDS = uuid5(NAMESPACE_URL, "urn:drillkit:exercise-calendar")  # drillkit's own space of event UIDs


@dataclass(frozen=True, kw_only=True)
class Upcoming:
    """One event of the calendar: a fire of a schedule, with what the drill is."""

    schedule: Schedule
    start: datetime
    title: str
    seconds: int


def upcoming(
    schedules: list[Schedule], titles: dict[str, tuple[str, int]], now: datetime, windows: Sequence[Blackout]
) -> list[Upcoming]:
    """The fires that will start from now to the horizon; `titles` maps scenario → (title, seconds)."""
    horizon = now + timedelta(days=HORIZON_DAYS)
    events = []
    for schedule in schedules:
        title, seconds = titles.get(schedule.scenario, (schedule.scenario, 3600))
        starts = takewhile(lambda start: start <= horizon, upcoming_fires(schedule, now, windows))
        for start in islice(starts, PER_SCHEDULE):
            events.append(Upcoming(schedule=schedule, start=start, title=title, seconds=seconds))
    return sorted(events, key=lambda e: (e.start, e.schedule.id))


def calendar(events: list[Upcoming], now: datetime, display_zone: str) -> str:
    """The whole VCALENDAR text, CRLF line endings, lines folded at 75 octets; with no event, the
    display zone's VTIMEZONE is its one component."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_PRODID}", "CALSCALE:GREGORIAN"]
    zones = sorted({e.schedule.tz for e in events} - {"UTC"}) if events else [display_zone]
    end = now + timedelta(days=HORIZON_DAYS + 1)
    for zone in zones:
        lines += _vtimezone(zone, (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0), end)
    for event in events:
        lines += _vevent(event, now)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _vevent(event: Upcoming, now: datetime) -> list[str]:
    schedule = event.schedule
    when = format_duration(int(schedule.expr)) if schedule.kind == "every" else schedule.expr
    detail = f"Scenario {schedule.scenario}, schedule {schedule.id} ({schedule.kind} {when})"
    if schedule.jitter:
        detail += f"; starts at a random moment up to {format_duration(schedule.jitter)} after this time"
    return [
        "BEGIN:VEVENT",
        f"UID:{_uid(schedule, event.start)}",
        f"DTSTAMP:{_utc_stamp(now)}",
        _dtstart(event.start, schedule.tz),
        f"DURATION:PT{event.seconds}S",
        f"SUMMARY:{_text('[DRILL / 演练] ' + event.title)}",
        f"DESCRIPTION:{_text(detail)}",
        "CATEGORIES:DRILL",
        "END:VEVENT",
    ]


def _uid(schedule: Schedule, start: datetime) -> str:
    """One fire's UID (module docstring): stable across exports, distinct across workspaces."""
    return str(uuid5(_UIDS, f"{schedule.id}\n{format_utc(schedule.created)}\n{_utc_stamp(start)}"))


def _dtstart(start: datetime, zone: str) -> str:
    if zone == "UTC":
        return f"DTSTART:{_utc_stamp(start)}"
    return f"DTSTART;TZID={zone}:{start.astimezone(ZoneInfo(zone)).strftime('%Y%m%dT%H%M%S')}"


def _utc_stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _vtimezone(zone: str, start: datetime, end: datetime) -> list[str]:
    """The zone's observances: the one in force at `start`, then one per offset change."""
    tz = ZoneInfo(zone)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone}"]
    changes = [start, *_transitions(tz, start, end)]
    for index, moment in enumerate(changes):
        before = (moment - timedelta(seconds=1)).astimezone(tz) if index else moment.astimezone(tz)
        lines += _observance(moment.astimezone(tz), before)
    lines.append("END:VTIMEZONE")
    return lines


def _observance(after: datetime, before: datetime) -> list[str]:
    kind = "DAYLIGHT" if after.dst() else "STANDARD"
    onset = after.replace(tzinfo=None) - (after.utcoffset() or timedelta()) + (before.utcoffset() or timedelta())
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{onset.strftime('%Y%m%dT%H%M%S')}",
        f"TZOFFSETFROM:{_offset(before.utcoffset())}",
        f"TZOFFSETTO:{_offset(after.utcoffset())}",
        f"TZNAME:{after.tzname()}",
        f"END:{kind}",
    ]


def _transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Instants (UTC) at which the zone's offset changes, found day by day, then to the second."""
    found, day = [], start
    while day < end:
        following = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            found.append(offset_change(tz, day, following))
        day = following
    return found


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _text(value: str) -> str:
    """TEXT escaping of RFC 5545 §3.3.11."""
    return inert(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a character."""
    pieces: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not pieces else 74
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return "\r\n ".join(pieces)
