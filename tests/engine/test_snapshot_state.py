"""A run state kept as a snapshot's bytes and restored, then brought past the rest of the record,
is the state a replay of the whole record gives: same position, same people, same work done, and
the same things coming due (over every sample record, kept after each of its events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from drillkit.engine.replay import KEPT_FORMAT, RunState, pending
from tests.conftest import read_events

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "records"
RECORDS = sorted(GOLDEN.glob("*.jsonl"))


def what_matters(state: RunState) -> dict[str, Any]:
    """Everything a command decides on, and what comes due from here."""
    fields = {name: value for name, value in vars(state).items() if name not in ("machine", "upcoming")}
    return fields | {"pending": pending(state), "allowed": state.allowed_triggers(None, system=True)}


@pytest.mark.parametrize("record", RECORDS, ids=[r.stem for r in RECORDS])
def test_a_state_restored_from_its_snapshot_goes_on_as_the_replay_does(record: Path) -> None:
    events = read_events(record)
    whole = what_matters(RunState.replay(events))
    for cut in range(1, len(events) + 1):
        restored = RunState.restored(RunState.replay(events[:cut]).kept())
        assert restored is not None
        for event in events[cut:]:
            restored.apply(event)
        assert what_matters(restored) == whole, f"kept after seq {cut}"


def test_every_sample_record_exercises_what_a_snapshot_keeps() -> None:
    """The records above hold checks, deliveries, breaches, hand-overs and endings (else the
    comparison would pass over fields left empty)."""
    kinds = {event["event"] for record in RECORDS for event in read_events(record)}
    assert {"check.done", "inject.delivered", "deadline.breached", "run.ended", "transition"} <= kinds


@pytest.mark.parametrize(
    "change",
    [
        lambda kept: {**kept, "format": KEPT_FORMAT + 1},
        lambda kept: {key: value for key, value in kept.items() if key != "checks"},
        lambda kept: {**kept, "checks": {"item": [1.0]}},
        lambda kept: {**kept, "started": {"event": "note"}},
    ],
    ids=["another format", "a field missing", "a field of another shape", "no run.started"],
)
def test_bytes_a_state_cannot_come_from_are_not_restored(change: Any) -> None:
    events = read_events(RECORDS[0])
    kept = orjson.loads(RunState.replay(events).kept())
    assert RunState.restored(orjson.dumps(change(kept))) is None
    assert RunState.restored(b"not json") is None
