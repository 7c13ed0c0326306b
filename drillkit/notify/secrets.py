"""Secrets of one delivery attempt: `${VAR}` expansion at send time, and scrubbing.

Error texts name a webhook by scheme and host alone (`redact_url`) and have every expanded
value, header value and URL part scrubbed, so no token reaches a record, an export or a log.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN_MIN = 6


class DeliveryError(Exception):
    """One failed attempt; `retry` says whether another attempt may succeed, `wait` how long the
    answer asked to wait (Retry-After). `throttle` is set on a rate-limit answer: how long the
    platform holds the robot back, which a paced delivery waits out (`drillkit.notify.pace`)."""

    def __init__(self, text: str, *, retry: bool, wait: float | None = None, throttle: float | None = None) -> None:
        super().__init__(text)
        self.retry = retry
        self.wait = wait
        self.throttle = throttle


@dataclass
class Secrets:
    """Every secret value met while preparing one attempt, to scrub from its error text."""

    values: set[str] = field(default_factory=set)

    def expand(self, text: str) -> str:
        """`${VAR}` from the environment; a missing variable fails the attempt for good."""

        def one(match: re.Match[str]) -> str:
            value = os.environ.get(match[1])
            if value is None:
                raise DeliveryError(f"environment variable {match[1]} is not set", retry=False)
            self.values.add(value)
            return value

        return _VAR.sub(one, text)

    def add_url(self, url: str) -> None:
        """The whole URL, and the parts of it long enough to be a token."""
        parts = urlsplit(url)
        self.values.add(url)
        pieces = (parts.path, parts.query, *(value for _, value in parse_qsl(parts.query)))
        self.values.update(piece for piece in pieces if len(piece) >= _TOKEN_MIN)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values - {""}, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def redact_url(url: str) -> str:
    """A webhook as shown anywhere: scheme and host only (path and query may hold the token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"
