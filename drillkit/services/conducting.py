"""Drills in the foreground: start one, conduct it until it ends or is left, judge it (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.engine.metrics import all_met, run_document, unallowed_breaches
from drillkit.model.clock import Clock
from drillkit.model.events import EventType
from drillkit.store.stores import open_store

if TYPE_CHECKING:
    from drillkit.notify.outbox import Outbox
    from drillkit.services.conductor import Conductor, Listener
    from drillkit.services.views import Tell
    from drillkit.store.port import RecordStore


def begin_drill(
    ws: Workspace, clock: Clock, scenario: str, *, by: str | None, assignments: list[str], speed: float
) -> str:
    """A new drill's run id; a bad [[notify]] is refused before the run is written, not after."""
    from drillkit.services.drills import start_drill
    from drillkit.services.people import acting_person

    ws.notifiers()
    return start_drill(ws, scenario, clock=clock, by=acting_person(by), assignments=assignments, speed=speed)


class Conducted(Enum):
    ENDED_BEFORE = "the run had ended: only notifications still owed were delivered"
    LEFT_RUNNING = "stopped before the run ended"
    ENDED = "conducted to its end"


def conduct(
    ws: Workspace,
    clock: Clock,
    run_id: str,
    *,
    listener: Listener,
    every: Callable[[Conductor], None],
    watch: Callable[[], Callable[[], bool]],
    tell: Tell,
) -> Conducted:
    """Conduct one run here until it ends or it is told to stop; what came due meanwhile is recorded
    late, once. `watch` is called as conducting begins (Ctrl-C interrupts what comes before) and
    returns what says stop."""
    from drillkit.notify.outbox import Outbox  # `simulate` and `start --detach` need no conducting
    from drillkit.services.conductor import Conductor

    store = open_store(ws, conducting=True, clock=clock)
    outbox = Outbox(ws, clock, ws.notifiers(), store=store)
    if _delivered_if_ended(store, run_id, outbox, tell):
        return Conducted.ENDED_BEFORE
    conductor = Conductor(ws, clock, listener=listener, outbox=outbox, store=store, hold=True)
    conductor.adopt_or_fail(run_id)
    stop = watch()
    try:
        conductor.conduct(stop=stop, every=lambda: every(conductor))
    finally:
        try:
            conductor.close()  # raises what a last append in flight met, once it is finished
        finally:
            _hand_over(outbox, conductor, tell)
    return Conducted.LEFT_RUNNING if stop() else Conducted.ENDED


HAND_OVER = 1.0  # seconds a conductor leaving waits for deliveries under way before leaving them owed
OWED_WAIT = 30.0  # seconds a resume of an ended run waits for the deliveries it owes


def _hand_over(outbox: Outbox, conductor: Conductor, tell: Tell) -> None:
    """Deliveries still under way stay owed in the record: the scheduler delivers them, once this
    process lets go of the run's conductor lock (so that no message goes out from both). A slow
    webhook never keeps a finished drill on the screen."""
    try:
        pending = outbox.hand_over(HAND_OVER)
    finally:
        conductor.let_go()
    if pending:
        tell(
            f"{pending} notification(s) pending: left owed in the record for `drill scheduler`,"
            " which delivers them (or `drill resume` of the run)"
        )


def _delivered_if_ended(store: RecordStore, run_id: str, outbox: Outbox, tell: Tell) -> bool:
    """An ended run has nothing left to conduct; only notifications still owed are delivered."""
    from drillkit.engine.replay import last_event

    events = store.read(run_id)
    ended = last_event(events)
    if ended["event"] != EventType.RUN_ENDED:
        return False
    owed = outbox.poll(run_id, events)
    left = outbox.hand_over(OWED_WAIT)
    tell(f"{run_id} has ended ({ended['outcome']}); nothing left to conduct{_owed_outcome(owed, left)}")
    return True


def _owed_outcome(owed: int, left: int) -> str:
    """What a resume of an ended run did with the `owed` notifications: those still waiting their
    turn at a robot's pace (or still under way) after OWED_WAIT are `left` owed."""
    if not owed:
        return ""
    delivered = f", {owed - left} notification(s) delivered"
    return delivered + (f", {left} left owed in the record for `drill scheduler`" if left else "")


@dataclass(frozen=True)
class Judged:
    """A run's SPEC §6 document and what its exit code says about it."""

    document: dict[str, Any]
    rejected: list[str]  # why each scripted step was refused (simulations only)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected or not all_met(self.document) or unallowed_breaches(self.document) else 0


def judge(ws: Workspace, run_id: str) -> Judged:
    """A conducted run's verdicts, as its record says."""
    return Judged(run_document(open_store(ws).read(run_id), {}), [])


def simulated(ws: Workspace, clock: Clock, scenario: str) -> Judged:
    """`drill simulate`: the scenario's script played on a virtual clock, and the verdicts. The
    verdicts' integrity footer checks seals with drill.toml's public key: one that cannot be read
    is refused before the simulation writes its record, not after."""
    from drillkit.render.runview import add_source, integrity
    from drillkit.services.simulate import simulate
    from drillkit.store.seals import public_key

    public_key(ws)
    result = simulate(ws, clock, scenario)
    rejected = [f"rejected step at T+{step.at}s by {step.by}: {why}" for step, why in result.rejected]
    document = run_document(result.events, integrity(ws, result.run_id))
    add_source(ws, document)
    return Judged(document, rejected)
