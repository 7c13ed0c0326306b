"""One run as the exports see it: the SPEC §6 document, the derived tables, zone and language.

The record is read once; `verify` reads the file again for the integrity footer, so a record
altered between the two reads shows as tampered, never as verified.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from drillkit.config.workspace import Workspace
from drillkit.engine.fields import reads_a_line
from drillkit.engine.metrics import Span, accountability, run_document, state_spans, state_times, stay_deadlines
from drillkit.engine.replay import RunState
from drillkit.model.clock import parse_utc
from drillkit.model.events import EventType
from drillkit.model.plans import Playbook
from drillkit.model.timefmt import local
from drillkit.render.cells import DASH
from drillkit.render.labels import Labels, drill_mark, is_drill_mode
from drillkit.store.port import Event


def integrity(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The integrity part of the document: `drill verify`'s verdict, event count and head hash;
    in a workspace with a seal key, the final seal's fingerprint and the events past it too."""
    from drillkit.store.files import workspace_key
    from drillkit.store.sealcheck import check_seals
    from drillkit.store.stores import open_seals, open_store
    from drillkit.store.verify import verify_lines

    store = open_store(ws)
    verdict = verify_lines(run_id, store.lines(run_id), workspace_key(ws))
    sealed = check_seals(ws, [verdict], [], None, seals=open_seals(ws), records=store)
    if sealed is None:
        return {"verdict": verdict.verdict, "events": verdict.events, "head": verdict.head}
    finding = sealed.findings[run_id]
    return {
        "verdict": sealed.verdicts[0].verdict,
        "events": verdict.events,
        "head": verdict.head,
        "seal": finding.fingerprint,
        "unsealed": finding.unsealed,
    }


@dataclass(frozen=True, kw_only=True)
class RunView:
    document: dict[str, Any]
    accountability: list[dict[str, Any]]
    spans: list[Span]
    deadlines: dict[tuple[str, float], float]  # each stay's deadline, by (state, entry time)
    state_times: dict[str, float]
    playbook: Playbook
    zone: str
    labels: Labels
    actions: list[dict[str, Any]] = field(default_factory=list)  # the run's corrective actions (SPEC §10)

    @property
    def run(self) -> dict[str, Any]:
        return dict(self.document["run"])

    @property
    def events(self) -> list[Event]:
        return list(self.document["events"])

    @property
    def timeline_events(self) -> list[Event]:
        """The events in record order, but each annotation under the event it annotates (after
        the annotations written before it), as timelines and exports show them."""
        return under_their_events(self.events)

    @property
    def is_drill(self) -> bool:
        return is_drill_mode(self.run["mode"])

    def mark(self) -> str:
        """`[DRILL / 演练] ` for drills and simulations, nothing for incidents."""
        return drill_mark(self.run["mode"])

    def when(self, ts: str | None) -> str:
        return local(parse_utc(ts), self.zone) if ts else DASH


def under_their_events(events: list[Event]) -> list[Event]:
    annotations: dict[int, list[Event]] = {}
    for event in events:
        if event["event"] == EventType.ANNOTATION:
            annotations.setdefault(_annotated_seq(event), []).append(event)
    if not annotations:
        return events
    return [placed for e in events if e["event"] != EventType.ANNOTATION for placed in _annotated(e, annotations)]


@reads_a_line
def _annotated_seq(annotation: Event) -> int:
    return int(annotation["of"])


def _annotated(event: Event, annotations: dict[int, list[Event]]) -> Iterator[Event]:
    """The event, then its annotations, each followed by its own (an annotation may be annotated)."""
    yield event
    for annotation in annotations.get(int(event["seq"]), []):
        yield from _annotated(annotation, annotations)


def load_view(ws: Workspace, run_id: str, *, zone: str, lang: str, now: datetime) -> RunView:
    from drillkit.store.stores import open_store

    events = open_store(ws).read(run_id)
    view = build_view(events, integrity(ws, run_id), zone=zone, lang=lang, now=now)
    add_source(ws, view.document)
    if "evaluation" not in view.document:
        return view
    return replace(view, actions=run_actions(ws, run_id, now))


def add_source(ws: Workspace, document: dict[str, Any]) -> None:
    """A drill replayed from an incident (its scenario's `source`, SPEC §11) shows the incident's
    times beside its own, or says the incident's record is not in this workspace."""
    from drillkit.engine.realtimes import beside_source

    scenario = document["events"][0].get("scenario") or {}
    source = scenario.get("source")
    if source:
        document["source"] = beside_source(document, source, _record_or_none(ws, source["run"]))


def _record_or_none(ws: Workspace, run_id: str) -> list[Event] | None:
    """The record's events; None when it is not in the workspace (or cannot be read: the drill's
    report still stands)."""
    from drillkit.model.errors import DrillError
    from drillkit.store.stores import open_store

    try:
        return open_store(ws).read(run_id)
    except DrillError:
        return None


def run_actions(ws: Workspace, run_id: str, now: datetime) -> list[dict[str, Any]]:
    """The corrective actions opened from a run (SPEC §10), for its improvement plan."""
    from drillkit.engine.corrective import replay_actions
    from drillkit.store.stores import open_ledger

    found = replay_actions(open_ledger(ws).read()).values()
    return [a.document(now.date()) for a in found if a.from_run == run_id]


def build_view(events: list[Event], verified: dict[str, Any], *, zone: str, lang: str, now: datetime) -> RunView:
    """The view as of `now`: an open run's current stay runs to now, as `drill status` counts it."""
    rs = RunState.replay(events)
    until = None if rs.ended else rs.drill_time(now)
    return RunView(
        document=run_document(events, verified),
        accountability=accountability(events),
        spans=state_spans(events, until),
        deadlines=stay_deadlines(events),
        state_times=state_times(events, until),
        playbook=rs.playbook,
        zone=zone,
        labels=Labels(lang),
    )
