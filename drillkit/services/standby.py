"""A scheduler on a team store (SPEC §8): active while it holds the lease, standing by until it
can take it, renewing it while active and stopping the moment it is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import Conflict
from drillkit.store.postgres.lease import RENEW_EVERY, Holder, Lease

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
        renewing = _Renewer(lease, seconds * RENEW_EVERY, lost, announce)
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
    """Renews the lease every `every` seconds; on a failed renewal, says so and calls `lost`."""

    def __init__(self, lease: Lease, every: float, lost: Callable[[], None], announce: Callable[[str], None]) -> None:
        super().__init__(name="lease", daemon=True)
        self.lease, self.every, self.lost, self.announce = lease, every, lost, announce
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            if not self.lease.renew():
                self.announce(f"scheduler lease (epoch {self.lease.epoch}) lost; stopping (another takes over)")
                self.lost()
                return

    def stop(self) -> None:
        self._done.set()
