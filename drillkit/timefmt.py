"""Display times in a zone with its name (records stay UTC)."""

from __future__ import annotations

from datetime import datetime
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
