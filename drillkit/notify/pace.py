"""Pacing (SPEC §7): a robot gets messages no faster than its platform takes them.

A robot is where a notifier's messages go: a webhook's url as `drill.toml` writes it (two
notifiers posting to one robot share its pace), a command notifier by its name. For each robot
the pace keeps when its recent messages reached it, at the latest, and until when the platform
holds it back after a rate-limit answer. Before each attempt a delivery takes a turn: it waits
until one more message keeps every `rate` of its notifier (at most `count` within any `per`
seconds) and the hold is over. A message is booked at `now + timeout`, the latest it can arrive,
and settled at the time its answer came, before which it arrived: a platform that counts arrivals
in a rolling window never sees more than the rate, whatever the network's delays.

The pace is shared by every process of the workspace on this machine (the scheduler, foreground
`drill start`s and `resume`s): it lives in `logs/notify.pace`, read and changed under `flock`.
Where that file cannot be written, the process keeps its own pace. Machines sharing a team store
each keep theirs; a rate-limit answer is then still waited out.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from drillkit.config.notifiers import MAX_RATE_WINDOW, Notifier, Rate
from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import DrillError

PACE_FILE = "notify.pace"
AHEAD = 3600.0  # seconds: a time further ahead than this came from another clock (a pinned one)
T = TypeVar("T")


class Pace(Protocol):
    holds: bool  # whether a rate-limit answer is waited out rather than counted as a failed attempt

    def turn(self, notifier: Notifier, clock: Clock, stop: threading.Event) -> float | None:
        """Wait for the robot's turn and book it: the time booked, for `settle`; None if `stop` was set first."""
        ...

    def settle(self, notifier: Notifier, booked: float, clock: Clock) -> None:
        """The answer came (or the attempt ended): the message reached the robot by now, if at all."""
        ...

    def hold(self, notifier: Notifier, seconds: float, clock: Clock) -> None:
        """A rate-limit answer: nothing more goes to the robot for `seconds`."""
        ...


class Unpaced:
    """Every attempt at once, and a rate-limit answer counts as a failed attempt: `drill notify
    test` (one message, asked for now) and the scheduler's overdue notices (sent in its pass)."""

    holds = False

    def turn(self, notifier: Notifier, clock: Clock, stop: threading.Event) -> float | None:
        return 0.0

    def settle(self, notifier: Notifier, booked: float, clock: Clock) -> None:
        return None

    def hold(self, notifier: Notifier, seconds: float, clock: Clock) -> None:
        return None


@dataclass
class _Robot:
    """What the pace knows of one robot, in seconds since the epoch."""

    sent: list[float] = field(default_factory=list)  # when each recent message reached it, at the latest
    until: float = 0.0  # held back by its platform until then

    def book(self, rates: tuple[Rate, ...], now: float, booked: float) -> float:
        """Seconds until one more message keeps every rate; when none, that message is booked."""
        self._forget(rates, now)
        wait = max(0.0, self.until - now, *(self._wait_for(rate, now) for rate in rates))
        if wait == 0 and rates:
            self.sent.append(booked)
        return wait

    def _forget(self, rates: tuple[Rate, ...], now: float) -> None:
        """Drop the times no window of `rates` reaches any more, and those from a clock far ahead."""
        if rates:
            longest = max(rate.per for rate in rates)
            self.sent = [t for t in self.sent if now - longest < t <= now + AHEAD]
        if self.until > now + AHEAD:
            self.until = 0.0

    def _wait_for(self, rate: Rate, now: float) -> float:
        """Seconds until the `count`-th latest message leaves the window: 0 while there are fewer."""
        recent = sorted(t for t in self.sent if t > now - rate.per)
        return recent[-rate.count] + rate.per - now if len(recent) >= rate.count else 0.0

    def settle(self, booked: float, now: float) -> None:
        if booked in self.sent:
            self.sent[self.sent.index(booked)] = now

    def hold(self, until: float) -> None:
        self.until = max(self.until, until)

    def idle(self, now: float) -> bool:
        """Nothing any rate can still count, and no hold: left out of the file."""
        return self.until <= now and all(t <= now - MAX_RATE_WINDOW for t in self.sent)


class Paces:
    """The pace of every robot the workspace's processes send to (module docstring)."""

    holds = True

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._shared = True  # until the file cannot be written
        self._mine: dict[str, _Robot] = {}
        self._lock = threading.Lock()

    def turn(self, notifier: Notifier, clock: Clock, stop: threading.Event) -> float | None:
        while True:
            booked, wait = self._book(notifier, clock.now().timestamp())
            if wait <= 0:
                return booked
            if clock.wait(wait, stop):
                return None

    def _book(self, notifier: Notifier, now: float) -> tuple[float, float]:
        """The time to book for a message sent now, and how long to wait first (0: booked)."""
        booked = now + notifier.timeout
        return booked, self._change(notifier, now, lambda robot: robot.book(notifier.rates, now, booked))

    def settle(self, notifier: Notifier, booked: float, clock: Clock) -> None:
        now = clock.now().timestamp()
        self._change(notifier, now, lambda robot: robot.settle(booked, now))

    def hold(self, notifier: Notifier, seconds: float, clock: Clock) -> None:
        now = clock.now().timestamp()
        self._change(notifier, now, lambda robot: robot.hold(now + seconds))

    def _change(self, notifier: Notifier, now: float, change: Callable[[_Robot], T]) -> T:
        key = robot_of(notifier)
        with self._lock:
            if self._shared:
                try:
                    return self._in_file(key, now, change)
                except (OSError, DrillError):
                    self._shared = False  # this process keeps its own pace from now on
            return change(self._mine.setdefault(key, _Robot()))

    def _in_file(self, key: str, now: float, change: Callable[[_Robot], T]) -> T:
        path = self._ws.ensure_dir(self._ws.logs) / PACE_FILE
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            robots = _load(os.pread(descriptor, os.fstat(descriptor).st_size, 0))
            result = change(robots.setdefault(key, _Robot()))
            kept = {name: robot for name, robot in robots.items() if not robot.idle(now)}
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, json.dumps({k: vars(r) for k, r in kept.items()}).encode(), 0)
            return result
        finally:
            os.close(descriptor)  # and with it the lock


def robot_of(notifier: Notifier) -> str:
    """Where the notifier's messages go, as a key that shows no token of its url."""
    where = notifier.url if notifier.kind == "webhook" else f"command:{notifier.name}"
    return hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]


def _load(data: bytes) -> dict[str, _Robot]:
    """The robots of the file; one torn by a crash, or written in another shape, counts as empty."""
    try:
        document = json.loads(data) if data else {}
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {key: robot for key, value in document.items() if (robot := _robot(value)) is not None}


def _robot(value: Any) -> _Robot | None:
    if not isinstance(value, dict):
        return None
    sent, until = value.get("sent"), value.get("until")
    if not isinstance(sent, list) or not isinstance(until, int | float):
        return None
    if not all(isinstance(t, int | float) for t in sent):
        return None
    return _Robot([float(t) for t in sent], float(until))
