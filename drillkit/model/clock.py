"""The only place that reads the time. Everything else is handed a Clock.

`SystemClock` is the wall clock; `VirtualClock` only moves when told to (simulation and
tests). `DRILL_FAKE_NOW` (an RFC 3339 time) pins the clock of a whole process, so a test can
run `drill` commands "seven minutes later" without sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from drillkit.model.errors import UsageError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait; a virtual clock advances instead."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait unless `stop` is set meanwhile; whether it is set. A virtual clock advances instead."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(seconds) if seconds > 0 else stop.is_set()


class VirtualClock:
    """A clock that moves only when advanced or slept on."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        if not stop.is_set():
            self.advance(seconds)
        return stop.is_set()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=max(0.0, seconds))

    def set(self, when: datetime) -> None:
        """Move to `when`; a virtual clock never goes back."""
        self._now = max(self._now, when.astimezone(UTC))


def parse_utc(text: str) -> datetime:
    """An RFC 3339 / ISO 8601 time as aware UTC (naive input is taken as UTC)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_utc(when: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and `Z` (what `isoformat` gives, in a third of the time:
    every recorded event has one)."""
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 - a format string is twice as slow
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond // 1000,
    )


def default_clock() -> Clock:
    """The process clock: the wall clock, or a pinned one from `DRILL_FAKE_NOW`."""
    fake = os.environ.get("DRILL_FAKE_NOW")
    if not fake:
        return SystemClock()
    try:
        return VirtualClock(parse_utc(fake))
    except (ValueError, OverflowError):
        raise UsageError(
            f"DRILL_FAKE_NOW {fake!r} is not a time; use RFC 3339 such as 2026-11-29T08:00:00Z, or unset it"
        ) from None
