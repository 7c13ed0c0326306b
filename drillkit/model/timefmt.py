"""Display times in a zone with its name (records stay UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from drillkit.model.errors import UsageError

# The years a date or time drill is given may fall in: no run lies outside them, and a day added
# or a zone's offset taken off any instant of them is still a time Python can hold.
YEARS = range(1970, 9999)
YEARS_SAID = f"from {YEARS.start}-01-01 to {YEARS.stop - 1}-12-31"


def zone_named(name: str) -> tzinfo:
    """An IANA zone (ZoneInfoNotFoundError or ValueError when there is none of that name)."""
    from zoneinfo import ZoneInfo  # 2 ms to import (it reads sysconfig): only a wall time shown needs it

    return ZoneInfo(name)


def check_zone(name: str) -> str:
    """`name` when it names a zone. UTC, the default, is in every zone database (tzdata, which
    drill depends on, too), so it is taken without importing zoneinfo (~2 ms of a start-up)."""
    if name == "UTC":
        return name
    try:
        zone_named(name)
    except (LookupError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise UsageError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai or UTC") from None
    return name


def local(when: datetime, zone: str) -> str:
    """`2026-11-29 13:05:00 CST` in the display zone."""
    shown = when.astimezone(zone_named(zone))
    return shown.strftime("%Y-%m-%d %H:%M:%S ") + (shown.tzname() or zone)


def since_filter(since: str | None, zone: str) -> Callable[[str], bool]:
    """A test on RFC 3339 UTC start times: on or after DATE (YYYY-MM-DD or a full time, in
    `zone` unless it names its own offset)."""
    if since is None:
        return lambda _started: True
    text = date_option(since, "--since", zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return lambda started: started >= text


def date_option(text: str, option: str, zone: str) -> datetime:
    """A `--since`/`--until` date or time, aware: one without an offset is in the display `zone`
    (a reader in Shanghai means Shanghai's days). Only in `YEARS`."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.year not in YEARS:
        allowed = f"a date {YEARS_SAID} like 2026-11-01, or a time like 2026-11-01T08:00Z"
        raise UsageError(f"{option} {text!r}: use {allowed}")
    return when if when.tzinfo is not None else when.replace(tzinfo=zone_named(zone))
