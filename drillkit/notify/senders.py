"""Delivery: one message through one notifier, with retries and exponential backoff.

Each attempt gets fresh `Secrets`; a failed attempt's error text is scrubbed before it is kept.
`send_probe` is `drill notify test`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from drillkit.config.notifiers import Notifier
from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import NotFound
from drillkit.notify.command import run_command
from drillkit.notify.pace import Pace, Unpaced
from drillkit.notify.payloads import Message, probe_message
from drillkit.notify.secrets import DeliveryError, Secrets
from drillkit.notify.webhook import post


@dataclass(frozen=True, kw_only=True)
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None
    abandoned: bool = False


UNPACED = Unpaced()
_SENDERS: dict[str, Callable[[Notifier, Message, Secrets, Clock], None]] = {"webhook": post, "command": run_command}


def deliver(
    notifier: Notifier, message: Message, clock: Clock, stop: threading.Event | None = None, pace: Pace = UNPACED
) -> Outcome:
    """Send with retries and exponential backoff; abandoned (nothing to record) if `stop` is set
    while waiting. Each attempt waits its turn at `pace`, which may wait out a rate-limit answer
    instead of counting it as a failed attempt; `attempts` counts every request made."""
    stop = stop or threading.Event()
    failed = made = 0
    error = None
    while True:
        booked = pace.turn(notifier, clock, stop)
        if booked is None:
            return Outcome(ok=False, attempts=made, error=error, abandoned=True)
        made += 1
        failed_with = _attempt(notifier, message, clock, pace, booked)
        if failed_with is None:
            return Outcome(ok=True, attempts=made)
        failure, error = failed_with
        if failure.throttle is not None and pace.holds:
            pace.hold(notifier, failure.throttle, clock)  # waited out at the next turn
            continue
        failed += 1
        if not failure.retry or failed >= notifier.attempts:
            return Outcome(ok=False, attempts=made, error=error)
        if clock.wait(failure.wait if failure.wait is not None else notifier.delay(failed), stop):
            return Outcome(ok=False, attempts=made, error=error, abandoned=True)


def _attempt(
    notifier: Notifier, message: Message, clock: Clock, pace: Pace, booked: float
) -> tuple[DeliveryError, str] | None:
    """One attempt with fresh `Secrets`: None once sent, else the failure and its text scrubbed."""
    secrets = Secrets()
    try:
        _SENDERS[notifier.kind](notifier, message, secrets, clock)
    except DeliveryError as failure:
        return failure, secrets.scrub(str(failure))
    finally:
        pace.settle(notifier, booked, clock)
    return None


PROBE_TIMEOUT = 3.0  # seconds: `drill notify test` answers quickly unless asked to wait longer


def send_probe(ws: Workspace, clock: Clock, name: str, *, retries: int = 0, timeout: float | None = None) -> Outcome:
    """`drill notify test NAME`: a `[TEST / 测试]` message through one notifier, now: one attempt
    (plus `retries`), each given `timeout` s (default: the notifier's, at most PROBE_TIMEOUT)."""
    notifiers = {notifier.name: notifier for notifier in ws.notifiers()}
    if name not in notifiers:
        configured = ", ".join(notifiers) or "none"
        raise NotFound(f"no notifier {name!r} in drill.toml; configured: {configured}")
    configured_one = notifiers[name]
    wait = timeout if timeout is not None else min(configured_one.timeout, PROBE_TIMEOUT)
    probe = replace(configured_one, attempts=1 + retries, timeout=wait)
    when = format_utc(clock.now())
    return deliver(probe, probe_message(name, key=f"test:{when}", when=when), clock)


def describe_outcome(outcome: Outcome) -> str:
    """`sent (1 attempt)` or `failed after 3 attempts: …`, as `drill notify test` says it too."""
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    return f"sent ({tries})" if outcome.ok else f"failed after {tries}: {outcome.error}"
