"""The responder commands through the real CLI: rejections, catch-up, status and runs as JSON."""

from __future__ import annotations

from tests.conftest import Drill


def test_open_prints_the_run_id_alone(drill: Drill) -> None:
    run = drill.open()
    assert drill.record(run).is_file()
    events = drill.events(run)
    assert [e["event"] for e in events] == ["run.started"]
    assert events[0]["participants"] == {"lead": "alice", "noc": "bob", "comms": "carol"}
