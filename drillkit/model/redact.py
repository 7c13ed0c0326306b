"""Masking of personal data in free text, before anything is written or hashed (SPEC §4).

Mainland mobile numbers, 18-digit resident ID numbers (a valid region code and birth date,
whatever the check digit: a mistyped ID number is still personal data), e-mail addresses,
IMSI (MCC 460) and Luhn-valid IMEI numbers, plus extra patterns from `drill.toml`.
Structured fields (timestamps, hashes, ids, numbers) are never passed through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache, lru_cache

from drillkit.model.errors import UsageError

# The province-level regions an ID number's first two digits name (81-83: Hong Kong, Macao and
# Taiwan residents' permits).
_ID_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_ID_FIRST_BIRTH_YEAR = 1900
_RESIDENT_ID = r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"
_MOBILE = r"(?<![0-9A-Za-z+])(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z])"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_FIFTEEN = r"(?<![0-9A-Za-z])(?:\d{15}|\d{2}-\d{6}-\d{6}-\d)(?![0-9A-Za-z])"
# Full-width forms (U+FF01–FF5E) and the ideographic space, as Chinese input methods type them,
# are read as their ASCII twins when looking for personal data: one character for one, so a match
# in the twin text sits at the same place in the text as written.
_ASCII_TWINS = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Every built-in mask needs an `@` or eleven digits (single `-` or space between them allowed):
# text without either is passed by one search instead of four substitutions.
_ELEVEN_DIGITS = re.compile(r"\d(?:[- ]?\d){10}")


def _is_resident_id(text: str) -> bool:
    """A valid region code and birth date; the check digit is not looked at (SPEC §4)."""
    return int(text[:2]) in _ID_PROVINCES and text[2:6] != "0000" and _is_birth_date(text[6:14])


def _is_birth_date(digits: str) -> bool:
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if year < _ID_FIRST_BIRTH_YEAR:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_resident_id(match: re.Match[str]) -> str:
    text = match.group(0)
    return text[:6] + "*" * 8 + text[14:] if _is_resident_id(text) else text


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match.group(1) or ''}{match.group(2)}****{match.group(4)}"


def _mask_email(match: re.Match[str]) -> str:
    local, _, domain = match.group(0).partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_fifteen(match: re.Match[str]) -> str:
    """IMSI (starts with China's MCC 460) or IMEI (Luhn-valid, also written `35-209900-176148-1`)."""
    digits = match.group(0).replace("-", "")
    if digits.startswith("460") or _luhn(digits):
        return digits[:5] + "*" * 6 + digits[11:]
    return match.group(0)


Mask = Callable[[re.Match[str]], str]


@cache
def builtin_masks() -> tuple[tuple[re.Pattern[str], Mask], ...]:
    """The four masks, compiled on the first text that may hold personal data: a command whose
    text holds none (most) does without some 2 ms of compiling."""
    return (
        (re.compile(_RESIDENT_ID), _mask_resident_id),
        (re.compile(_EMAIL), _mask_email),
        (re.compile(_FIFTEEN), _mask_fifteen),
        (re.compile(_MOBILE), _mask_mobile),
    )


class Redactor:
    """Applies the built-in masks and the workspace's extra patterns to free text."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._extra = [extra_pattern(pattern) for pattern in extra]

    def __call__(self, text: str) -> str:
        seen = text if text.isascii() else text.translate(_ASCII_TWINS)
        if "@" in seen or _ELEVEN_DIGITS.search(seen):
            for pattern, mask in builtin_masks():
                text, seen = _masked_in_both(pattern, mask, text, seen)
        for pattern in self._extra:
            text = pattern.sub(_stars, text)
        return text


def _masked_in_both(pattern: re.Pattern[str], mask: Mask, text: str, seen: str) -> tuple[str, str]:
    """`pattern` looked for in `seen` (the text with full-width forms read as ASCII) and masked
    in both; what a mask leaves as it was stays as written."""
    if seen is text:
        text = pattern.sub(mask, text)
        return text, text
    written: list[str] = []
    twin: list[str] = []
    last = 0
    for match in pattern.finditer(seen):
        start, end = match.span()
        masked = mask(match)
        unchanged = masked == match.group(0)
        written += (text[last:start], text[start:end] if unchanged else masked)
        twin += (seen[last:start], masked)
        last = end
    return "".join(written) + text[last:], "".join(twin) + seen[last:]


def _stars(match: re.Match[str]) -> str:
    return "*" * len(match.group(0))


@lru_cache(maxsize=16)
def redactor_for(extra: tuple[str, ...]) -> Redactor:
    """One compiled redactor per set of `drill.toml` patterns; a bad pattern is a usage error."""
    return Redactor(extra)


def extra_pattern(pattern: str) -> re.Pattern[str]:
    """A `drill.toml` pattern compiled, or a UsageError naming it: `re` refuses a bad one with
    `re.error`, a repetition past what it counts (`a{99999999999}`) with OverflowError, and
    groups nested some thousand deep with RecursionError."""
    try:
        return re.compile(pattern)
    except (re.error, OverflowError) as exc:
        reason = str(exc)
    except RecursionError:
        reason = "groups nested too deeply"
    raise UsageError(f"drill.toml: [redact] patterns: {pattern!r} is not a valid regular expression: {reason}")
