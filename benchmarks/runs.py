"""Runs made in-process through drillkit's own API, for the figures that act on a record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.services.drills import start_drill
from drillkit.services.runs import open_incident
from drillkit.store.port import Event
from drillkit.store.stores import open_store

BATCH = 1000


def note(n: int) -> Event:
    return {"event": "note", "actor": "bob", "role": "noc", "text": f"status {n}: BJ-3 ring still flapping"}


def make_run(root: Path, events: int) -> str:
    """An open incident of the `bench` plan holding `events` events (run.started, then notes)."""
    ws, clock = Workspace(root), SystemClock()
    run_id = open_incident(
        ws, clock, "bench", severity="II", by="bob", title=None, assignments=["noc=bob", "lead=alice"]
    )
    store = open_store(ws)
    left = events - 1
    while left > 0:
        batch = [note(left - k) for k in range(min(BATCH, left))]
        store.append(run_id, _const(batch), clock)
        left -= len(batch)
    return run_id


def make_drill(root: Path) -> str:
    """An open drill of the `bench` plan (scenario `bench-act`: nothing comes due for 12 hours)."""
    return start_drill(Workspace(root), "bench-act", clock=SystemClock(), by="alice")


def _const(drafts: list[Event]) -> Callable[[list[Event], datetime], list[Event]]:
    return lambda _events, _now: drafts
