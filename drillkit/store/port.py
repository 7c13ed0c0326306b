"""The `RecordStore` port: what every caller may ask of the place run records live (SPEC §4).

Callers get a store from `open_store(ws)` and never name an adapter, so another adapter (a
database) replaces the JSON-lines files without touching them. A store object holds what its
process has read of each record: one command, one conductor or one scheduler keeps one store
for its lifetime, and each append or read then reads only what is new.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drillkit.model.clock import Clock
from drillkit.model.provenance import Provenance

Event = dict[str, Any]
Decide = Callable[[list[Event], datetime], list[Event]]  # (the record's events, the time) → drafts


class RecordStore(ABC):
    """Run records: created whole, appended to under each run's lock, read, listed and watched."""

    @abstractmethod
    def create(
        self,
        run_id: str,
        first: Event,
        clock: Clock,
        rest: list[Event] | None = None,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        """Write `run.started` (and the drafts after it) as a new record, whole or not at all;
        `RunExists` if the run exists. The events written.

        Every event written carries `provenance`'s `origin` and `req` (a fresh
        `Provenance.here()` when none is given): one write, one `req`, however often it is tried."""

    @abstractmethod
    def append(self, run_id: str, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        """Under the run's lock: `decide(events, now)` against the record as it stands then, and
        write what it returns (nothing for an empty list), each event with `provenance`'s fields
        (as for `create`). A torn tail is set aside and recorded as `record.repaired` first. The
        events written."""

    @abstractmethod
    def read(self, run_id: str, from_seq: int = 1) -> list[Event]:
        """The run's complete events from `from_seq` on; `NotFound` for an unknown run,
        `RecordError` for a record that cannot be a run."""

    @abstractmethod
    def runs(self) -> list[str]:
        """The ids of every run recorded, in id order."""

    @abstractmethod
    def watch(self, run_id: str, after_seq: int, timeout: float, clock: Clock) -> list[Event]:
        """The events past `after_seq`, waiting up to `timeout` seconds of `clock` for one to be
        appended (by this process or another); empty when none came."""

    @abstractmethod
    def writable(self, run_id: str) -> bool:
        """Whether this process may append to the run's record."""
