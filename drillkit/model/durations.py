"""Durations with units: `90s`, `15m`, `1h30m`, `2d`. A bare number is an error."""

from __future__ import annotations

import re
from functools import lru_cache

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", re.ASCII)  # no full-width digits
MAX_DURATION = 3650 * 86400  # ten years: past any plan or schedule, within every date and store


@lru_cache(maxsize=1024)
def parse_duration(text: str, at_most: int = MAX_DURATION) -> int:
    """Seconds in a duration string of at most `at_most` seconds; ValueError with a hint for anything else.

    Cached: plans repeat a few durations, and `drill validate` of 1,000 playbooks reads 17,600."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(_hint(text))
    seconds = sum(_count(n) * _UNITS[u] for n, u in zip(match.groups(), "dhms", strict=True) if n)
    if seconds > at_most:
        raise ValueError(f"duration {_shown(text)} is too long: at most {format_duration(at_most)}")
    return seconds


def parse_span(text: str, at_most: int = MAX_DURATION) -> int:
    """A length of time that has to pass (a deadline, a target, an interval between drills): a
    duration, but never zero, which would be breached, overdue or due again at once."""
    seconds = parse_duration(text, at_most)
    refuse_zero(seconds, text)
    return seconds


def refuse_zero(seconds: float, text: str) -> None:
    """ValueError, saying what is allowed, when `seconds` read from `text` are zero."""
    if seconds == 0:
        raise ValueError(f"duration {_shown(text)} is zero: give one longer than 0s, like '90s' or '15m'")


_DRILL_TIME = re.compile(r"^(.*?)(\d+)\.(\d{1,3})s$", re.ASCII)


def parse_drill_time(text: str) -> int | float:
    """A moment on the drill clock: a duration, whose seconds may carry up to three decimals
    (`4m12.345s`), so a replayed incident's actions keep their recorded millisecond times. Whole
    seconds stay an `int` (a scenario a record embeds reads as it always did)."""
    match = _DRILL_TIME.match(text.strip())
    if match is None and "." in text:
        raise ValueError(
            f"time {_shown(text)} is not valid: only seconds take decimals, at most three, as in '4m12.345s'"
        )
    if match is None:
        seconds: int = parse_duration(text)
        return seconds
    head, whole, fraction = match.groups()
    counted: int = parse_duration(f"{head}{whole}s")
    return round(counted + float(f"0.{fraction}"), 3)


def format_drill_time(seconds: float) -> str:
    """A drill time as `parse_drill_time` reads it: `format_duration`, with milliseconds when there are any."""
    millis = round(seconds * 1000)
    whole, rest = divmod(millis, 1000)
    if not rest:
        return format_duration(whole)
    minutes = format_duration(whole - whole % 60) if whole >= 60 else ""
    fraction = f"{rest:03d}".rstrip("0")
    return f"{minutes}{whole % 60}.{fraction}s"


def _count(digits: str) -> int:
    """One unit's count; past ten digits it is too long whatever it says, and is not converted
    (Python refuses to convert more than 4300 digits)."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= 10 else MAX_DURATION + 1


def _shown(text: str) -> str:
    """The text as a message quotes it: a long one cut short."""
    return repr(text if len(text) <= 24 else text[:20] + "…")


def _hint(text: str) -> str:
    if text.strip().isdigit():
        return (
            f"duration {_shown(text)} has no unit: write it with units like '90s', '15m', "
            "'1h30m' or '2d' (YAML reads 1:30 as the number 90)"
        )
    return f"duration {_shown(text)} is not valid: use units d, h, m, s as in '90s', '15m', '1h30m', '2d'"


def format_duration(seconds: float) -> str:
    """The shortest unit form of a whole number of seconds (`5400` → `1h30m`)."""
    rest = round(seconds)
    if rest == 0:
        return "0s"
    sign = "-" if rest < 0 else ""
    rest = abs(rest)
    parts = []
    for unit, size in _UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_clock(seconds: float | None) -> str:
    """Drill clock as `T+hh:mm:ss` (`T-` before the start)."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else "+"
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    return f"T{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
