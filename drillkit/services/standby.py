"""A scheduler on a team store (SPEC §8): active while it holds the lease, standing by until it
can take it, renewing it while active and stopping the moment it is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import Conflict, DrillError
from drillkit.store.postgres.lease import RENEW_EVERY, Holder, Lease, Renewal

STANDBY_LOOK = 1.0  # seconds between a standby's tries


@contextmanager
def leased(
    url: str,
    *,
    seconds: float,
    clock: Clock,
    stopped: Callable[[], bool],
    announce: Callable[[str], None],
    lost: Callable[[], None],
    once: bool,
) -> Iterator[bool]:
    """Hold the lease for the body: True once taken, False when stopped before (a standby never
    starts a drill). `lost` is called when the lease is lost while active."""
    lease = Lease(url, seconds)
    try:
        if not _take(lease, clock, stopped, announce, once):
            yield False
            return
        announce(f"scheduler active (lease epoch {lease.epoch})")
        renewing = _Renewer(lease, seconds, lost, announce)
        renewing.start()
        try:
            yield True
        finally:
            renewing.stop()
    finally:
        lease.release()


def _take(lease: Lease, clock: Clock, stopped: Callable[[], bool], announce: Callable[[str], None], once: bool) -> bool:
    told = False
    while not lease.try_take():
        if once:
            raise Conflict(f"another scheduler is active on this team store ({_who(lease.holder())}); stop it first")
        if not told:
            announce(f"standing by: {_who(lease.holder())} is active; taking over if it stops renewing its lease")
            told = True
        if stopped():
            return False
        clock.sleep(STANDBY_LOOK)
    return not stopped()


def _who(holder: Holder | None) -> str:
    if holder is None:
        return "another scheduler"
    since = format_utc(holder.since) if holder.since else "?"
    return f"the scheduler on {holder.host} (pid {holder.pid}, epoch {holder.epoch}) since {since}"


class _Renewer(threading.Thread):
    """Renews the lease every `every` seconds. A server that does not answer is tried again
    (every RETRY seconds) until the lease time has passed since the last renewal: a blip shorter
    than that costs nothing when no standby took over meanwhile. On a renewal refused because a
    newer epoch exists, or once the lease time has passed, it says so and calls `lost`."""

    RETRY = 0.25  # seconds between tries while the server does not answer

    def __init__(self, lease: Lease, seconds: float, lost: Callable[[], None], announce: Callable[[str], None]) -> None:
        super().__init__(name="lease", daemon=True)
        self.lease, self.seconds, self.lost, self.announce = lease, seconds, lost, announce
        self._done = threading.Event()

    def run(self) -> None:
        renewed = time.monotonic()
        wait = self.seconds * RENEW_EVERY
        while not self._done.wait(wait):
            outcome = self.lease.renew()
            if outcome is Renewal.RENEWED:
                renewed, wait = time.monotonic(), self.seconds * RENEW_EVERY
                continue
            if outcome is Renewal.REPLACED:
                self._give_up(f"its renewal was refused: {_newer(self.lease)}")
                return
            if time.monotonic() - renewed >= self.seconds:
                self._give_up(f"the team store at {self.lease.server} did not answer for the lease time")
                return
            wait = self.RETRY

    def _give_up(self, why: str) -> None:
        self.announce(f"scheduler lease (epoch {self.lease.epoch}) lost, {why}; stopping")
        self.lost()

    def stop(self) -> None:
        self._done.set()


def _newer(lease: Lease) -> str:
    """Who holds the lease now, for the message of a scheduler that was replaced."""
    try:
        now = lease.holder()
    except DrillError:
        now = None
    if now is None or now.epoch == lease.epoch:
        return "another scheduler holds the lease lock"
    return f"epoch {now.epoch} on {now.host} (pid {now.pid}) took over"
