"""Table cells shared by every renderer: clock and duration values, a dash when absent."""

from __future__ import annotations

from drillkit.model.durations import format_clock, format_duration

DASH = "—"


def clock(seconds: float | None) -> str:
    """`T+hh:mm:ss`, or a dash when absent."""
    return format_clock(seconds) if seconds is not None else DASH


def duration(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else DASH
