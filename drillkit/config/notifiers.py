"""Notifier configuration (SPEC §7): the `[[notify]]` tables of `drill.toml`, validated.

`${VAR}` references are kept as written here; they are expanded at send time only
(`drillkit.notify.secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from drillkit.model.durations import parse_duration
from drillkit.model.errors import UsageError
from drillkit.model.events import NOTIFIABLE, ActionEvent, EventType

KINDS = ("command", "webhook")
MODES = ("incident", "drill")
DEFAULT_EVENTS = (EventType.RUN_STARTED, EventType.INJECT_DELIVERED, EventType.DEADLINE_BREACHED, EventType.RUN_ENDED)
BACKOFF_CAP = 60.0
MAX_TIMEOUT = 300.0  # seconds an attempt may be given
MAX_RATE_WINDOW = 3600  # seconds: the longest window a `rate` may count in
_COMMON_KEYS = ("name", "kind", "events", "modes", "attempts", "timeout", "backoff", "rate")
_KIND_KEYS = {"command": ("command",), "webhook": ("url", "format", "headers", "secret")}
FORMATS = ("json", "slack", "dingtalk", "wecom", "feishu")  # payload formats of a webhook
SIGNED_FORMATS = ("dingtalk", "feishu")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Rate:
    """At most `count` messages within any `per` seconds."""

    count: int
    per: int


# How fast each platform's robots take messages (shared/reference webhooks: DingTalk and WeCom 20 a
# minute, DingTalk throttling a robot for 10 minutes past that; Feishu 100 a minute and 5 a second;
# Slack about 1 a second). `json` webhooks and commands have no known limit: not paced.
PLATFORM_RATES: dict[str, tuple[Rate, ...]] = {
    "dingtalk": (Rate(20, 60),),
    "wecom": (Rate(20, 60),),
    "feishu": (Rate(100, 60), Rate(5, 1)),
    "slack": (Rate(1, 1),),
}
_RATE = re.compile(r"^(\d{1,5})/(\w+)$", re.ASCII)
_RATE_HINT = 'use "COUNT/DURATION" such as "20/1m" (1 to 10000 within 1s to 1h), a list of them, or [] for none'


@dataclass(frozen=True, kw_only=True)
class Notifier:
    """One `[[notify]]` entry, validated; `${VAR}` still unexpanded."""

    name: str
    kind: str
    events: frozenset[str]
    modes: frozenset[str]
    command: tuple[str, ...] = field(default=(), repr=False)  # may hold a token: kept out of reprs and logs
    url: str = field(default="", repr=False)
    format: str = "json"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secret: str = field(default="", repr=False)
    attempts: int = 5
    timeout: float = 5.0
    backoff: float = 1.0
    rates: tuple[Rate, ...] = ()  # the pace of its messages; none for an unpaced notifier

    def wants(self, event_type: str, mode: str) -> bool:
        return event_type in self.events and mode in self.modes

    def delay(self, attempt: int) -> float:
        """Wait after failed attempt `attempt` (1-based): doubling from `backoff`, capped."""
        return float(min(self.backoff * 2 ** (attempt - 1), BACKOFF_CAP))


def parse_notifiers(entries: Iterable[Any]) -> tuple[Notifier, ...]:
    """Every `[[notify]]` table, or a UsageError naming `drill.toml`, the notifier and what is allowed."""
    notifiers, problems = checked_notifiers(entries)
    if problems:
        raise problems[0][1]
    return notifiers


def checked_notifiers(entries: Iterable[Any]) -> tuple[tuple[Notifier, ...], list[tuple[int, UsageError]]]:
    """The `[[notify]]` tables that are right, and each problem with the number of its table."""
    notifiers: list[Notifier] = []
    problems: list[tuple[int, UsageError]] = []
    for index, entry in enumerate(entries, 1):
        try:
            notifier = _notifier(entry, index)
        except UsageError as problem:
            problems.append((index, problem))
            continue
        if any(known.name == notifier.name for known in notifiers):
            used = _bad(f"notifier {notifier.name!r}", "the name is used twice; give each [[notify]] its own name")
            problems.append((index, used))
            continue
        notifiers.append(notifier)
    return tuple(notifiers), problems


def _bad(label: str, problem: str) -> UsageError:
    return UsageError(f"drill.toml: {label}: {problem}")


def _notifier(entry: Any, index: int) -> Notifier:
    if not isinstance(entry, dict):
        raise _bad(f"[[notify]] #{index}", "must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(f"[[notify]] #{index}", "needs a name of letters, digits, '_' and '-'")
    label = f"notifier {name!r}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise _bad(label, f"kind {kind!r} is not allowed; use one of: {', '.join(KINDS)}")
    allowed = (*_COMMON_KEYS, *_KIND_KEYS[kind])
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise _bad(label, f"unknown key {unknown[0]!r} for kind {kind}; allowed: {', '.join(allowed)}")
    common: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "events": _events(entry.get("events", list(DEFAULT_EVENTS)), label),
        "modes": _modes(entry.get("modes", list(MODES)), label),
        "attempts": _attempts(entry.get("attempts", 5), label),
        "timeout": _seconds(entry.get("timeout", 5), "timeout", label, 0.001, MAX_TIMEOUT),
        "backoff": _seconds(entry.get("backoff", 1), "backoff", label, 0, BACKOFF_CAP),
    }
    if kind == "command":
        return Notifier(**common, command=_command(entry.get("command"), label), rates=_rates(entry, "", label))
    fmt = _format(entry.get("format", "json"), label)
    return Notifier(
        **common,
        rates=_rates(entry, fmt, label),
        url=_url(entry.get("url"), label),
        format=fmt,
        headers=_headers(entry.get("headers", {}), label),
        secret=_secret(entry.get("secret", ""), fmt, label),
    )


def _strings(value: Any, key: str, label: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _bad(label, f"{key} must be a list of non-empty strings")
    return value


_NOTIFIABLE = (*NOTIFIABLE, ActionEvent.OVERDUE)  # and, from the actions' ledger, an overdue action


def _events(value: Any, label: str) -> frozenset[str]:
    for event in _strings(value, "events", label):
        if event not in _NOTIFIABLE:
            raise _bad(label, f"event {event!r} cannot be notified; allowed: {', '.join(_NOTIFIABLE)}")
    return frozenset(value)


def _modes(value: Any, label: str) -> frozenset[str]:
    for mode in _strings(value, "modes", label):
        if mode not in MODES:
            raise _bad(label, f"mode {mode!r} is not allowed (simulations never notify); allowed: {', '.join(MODES)}")
    return frozenset(value)


def _attempts(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise _bad(label, f"attempts {value!r} is not allowed; use a whole number from 1 to 20")
    return value


def _seconds(value: Any, key: str, label: str, low: float, high: float) -> float:
    """Seconds as a TOML number (`0.5`) or a duration string (`5s`), within [low, high]."""
    if isinstance(value, str):
        try:
            seconds = float(parse_duration(value))
        except ValueError as err:
            raise _bad(label, f"{key}: {err}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise _bad(label, f"{key} must be seconds (a number) or a duration like '5s'")
    if not low <= seconds <= high:
        raise _bad(label, f"{key} {value!r} is out of range; allowed: {low:g} to {high:g} seconds")
    return seconds


def _rates(entry: dict[str, Any], fmt: str, label: str) -> tuple[Rate, ...]:
    """`rate`: one limit ("20/1m") or a list of them; without it, the platform's (PLATFORM_RATES)."""
    if "rate" not in entry:
        return PLATFORM_RATES.get(fmt, ())
    value = entry["rate"]
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list):
        raise _bad(label, f"rate {value!r} is not allowed; {_RATE_HINT}")
    return tuple(_rate(text, label) for text in texts)


def _rate(text: Any, label: str) -> Rate:
    match = _RATE.match(text) if isinstance(text, str) else None
    try:
        per = parse_duration(match[2], at_most=MAX_RATE_WINDOW) if match else 0
    except ValueError:
        per = 0
    if match is None or not 1 <= int(match[1]) <= 10000 or per < 1:
        raise _bad(label, f"rate {text!r} is not allowed; {_RATE_HINT}")
    return Rate(int(match[1]), per)


def _command(value: Any, label: str) -> tuple[str, ...]:
    if not value:
        raise _bad(label, 'kind command needs command = ["program", "arg", …]')
    return tuple(_strings(value, "command", label))


def _url(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://", "${")) or not _has_host(value):
        raise _bad(label, 'kind webhook needs url = "https://host/…" with a host name (secrets as ${VAR})')
    return value


def _has_host(url: str) -> bool:
    """A url written out names its host; one that starts with ${VAR} is known only once expanded."""
    if url.startswith("${"):
        return True
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # an unclosed IPv6 bracket, `http://[::1`
        return False


def _format(value: Any, label: str) -> str:
    if value not in FORMATS:
        raise _bad(label, f"format {value!r} is not allowed; use one of: {', '.join(FORMATS)}")
    return str(value)


def _secret(value: Any, fmt: str, label: str) -> str:
    """The signing secret (加签 / 签名校验) of a DingTalk or Feishu robot."""
    if value and fmt not in SIGNED_FORMATS:
        raise _bad(label, f"secret signs only formats {', '.join(SIGNED_FORMATS)}, not {fmt}")
    if not isinstance(value, str):
        raise _bad(label, 'secret must be a string, e.g. secret = "${DING_SECRET}"')
    return value


def _headers(value: Any, label: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(label, 'headers must be a table of strings, e.g. headers = { Authorization = "Bearer ${TOKEN}" }')
    return tuple((str(k), v) for k, v in value.items())
