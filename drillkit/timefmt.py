"""Display times in a zone with its name (records stay UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drillkit.errors import UsageError


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai or UTC") from None
    return name


def local(when: datetime, zone: str) -> str:
    """`2026-11-29 13:05:00 CST` in the display zone."""
    shown = when.astimezone(ZoneInfo(zone))
    return shown.strftime("%Y-%m-%d %H:%M:%S ") + (shown.tzname() or zone)


def since_filter(since: str | None) -> Callable[[str], bool]:
    """A test on RFC 3339 UTC start times: on or after DATE (YYYY-MM-DD or a full time)."""
    if since is None:
        return lambda _started: True
    try:
        bound = datetime.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since {since!r}: use a date like 2026-11-01 or 2026-11-01T08:00Z") from None
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    text = bound.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return lambda started: started >= text
