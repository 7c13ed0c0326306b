"""Table cells shared by every renderer: clock and duration values, a dash when absent, HTML text."""

from __future__ import annotations

import html

from drillkit.model.durations import format_clock, format_duration
from drillkit.model.inert import inert

DASH = "—"


def clock(seconds: float | None) -> str:
    """`T+hh:mm:ss`, or a dash when absent."""
    return format_clock(seconds) if seconds is not None else DASH


def duration(seconds: float | None) -> str:
    return format_duration(seconds) if seconds is not None else DASH


def html_text(text: str) -> str:
    """Record text as HTML: escaped, its control characters and bidi controls shown, not obeyed."""
    return html.escape(inert(text))
