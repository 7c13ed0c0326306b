"""The typed events say what the records hold: every line written has a known event type and
exactly the fields its typed dict declares (SPEC §4); the scheduler logs only its own event names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drillkit.model import events as model
from drillkit.model.events import EventType, SchedulerEvent
from tests.conftest import Drill, command_notifier, read_events

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "records"

SHAPES: dict[EventType, Any] = {
    EventType.RUN_STARTED: model.RunStarted,
    EventType.INJECT_DELIVERED: model.InjectDelivered,
    EventType.TRANSITION: model.Transition,
    EventType.CHECK_DONE: model.CheckDone,
    EventType.NOTE: model.Note,
    EventType.ASSIGNED: model.Assigned,
    EventType.SEVERITY_CHANGED: model.SeverityChanged,
    EventType.DEADLINE_BREACHED: model.DeadlineBreached,
    EventType.NOTIFY_SENT: model.NotifyOutcome,
    EventType.NOTIFY_FAILED: model.NotifyOutcome,
    EventType.RECORD_REPAIRED: model.RecordRepaired,
    EventType.RUN_ENDED: model.RunEnded,
    EventType.ANNOTATION: model.Annotation,
    EventType.OBSERVATION: model.Observation,
    EventType.FEEDBACK: model.Feedback,
}


def misfits(events: list[dict[str, Any]]) -> list[str]:
    """Each event whose type is unknown or whose fields are not those of its typed dict."""
    found = []
    for event in events:
        shape = SHAPES[EventType(event["event"])]
        required, optional = set(shape.__required_keys__), set(shape.__optional_keys__)
        if not required <= event.keys() <= required | optional:
            found.append(f"#{event['seq']} {event['event']}: {sorted(event)}")
    return found


def test_every_event_type_has_its_typed_dict() -> None:
    assert set(SHAPES) == set(EventType)


def test_the_golden_records_hold_the_declared_fields() -> None:
    events = [event for path in sorted(GOLDEN.glob("*.jsonl")) for event in read_events(path)]
    assert misfits(events) == []
    assert {EventType.INJECT_DELIVERED, EventType.DEADLINE_BREACHED} <= {e["event"] for e in events}


def test_an_incident_holds_the_declared_fields_and_the_scheduler_logs_its_own_names(
    drill: Drill, tmp_path: Path
) -> None:
    command_notifier(drill.root, tmp_path, ["run.ended"])
    run_id = drill.open()
    drill("note", run_id, "bridge is up", "--by", "alice", ok=True)
    drill("assign", run_id, "comms", "dave", "--by", "alice", ok=True)
    drill("severity", run_id, "I", "--reason", "two provinces down", "--by", "alice", ok=True)
    with drill.record(run_id).open("ab") as record:
        record.write(b'{"torn')
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True)
    drill("scheduler", "--once", ok=True)

    events = drill.events(run_id)
    assert misfits(events) == []
    kinds = {e["event"] for e in events}
    assert {EventType.NOTE, EventType.ASSIGNED, EventType.SEVERITY_CHANGED, EventType.RECORD_REPAIRED} <= kinds
    assert {EventType.RUN_ENDED, EventType.NOTIFY_SENT} <= kinds
    logged = (drill.root / "logs" / "scheduler.jsonl").read_text(encoding="utf-8").splitlines()
    names = [json.loads(line)["event"] for line in logged]
    assert SchedulerEvent.STARTED in names
    assert set(names) <= set(SchedulerEvent)
