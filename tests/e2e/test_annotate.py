"""`drill annotate RUN SEQ TEXT` (SPEC §5): after a run ends, a reviewer adds a correction or
context to one event; the record still verifies, and every timeline shows the annotation under
the event it belongs to."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from tests.conftest import Drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
CONTEXT = "bob acknowledged from the bridge, not the NOC console"


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ended_run(drill: Drill) -> str:
    """An incident: opened (#1), acknowledged (#2), a note (#3), aborted (#4)."""
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(2))
    drill("note", run_id, "bridge 8876 open", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(3))
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=at(4))
    return run_id


def test_an_annotation_after_the_end_is_recorded_verified_and_shown_under_its_event(drill: Drill) -> None:
    run_id = ended_run(drill)
    done = drill("annotate", run_id, "2", CONTEXT, "--by", "carol", DRILL_FAKE_NOW=at(60))
    assert done.returncode == 0, done.stderr
    drill("annotate", run_id, "5", "confirmed with bob", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(61))

    annotations = [e for e in drill.events(run_id) if e["event"] == "annotation"]
    assert [(e["seq"], e["of"], e["actor"], e["text"]) for e in annotations] == [
        (5, 2, "carol", CONTEXT),
        (6, 5, "alice", "confirmed with bob"),
    ]
    verified = json.loads(drill("verify", run_id, "--json", ok=True).stdout)
    assert verified[0]["verdict"] == "ok"  # the fixture also checks it with the independent verifier

    rows = json.loads(drill("timeline", run_id, "--json", ok=True).stdout)["rows"]
    assert [r["seq"] for r in rows] == [1, 2, 5, 6, 3, 4]  # each annotation under what it annotates
    assert rows[2]["detail"] == f"on #2: {CONTEXT}"
    report = drill("export", run_id, "--format", "md", ok=True).stdout
    timeline = report.split("## Timeline\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in timeline.splitlines() if line.startswith("| 2026")]
    assert ["acknowledge" in lines[1], CONTEXT in lines[2], "run.ended" in lines[-1]] == [True, True, True]
    table = drill("export", run_id, "--format", "csv", "--no-bom", ok=True).stdout
    assert [row["seq"] for row in csv.DictReader(io.StringIO(table))] == ["1", "2", "5", "6", "3", "4"]
    document = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)
    assert [e["seq"] for e in document["events"]] == [1, 2, 3, 4, 5, 6]  # the record as written
    assert document["run"]["outcome"] == "aborted"


def test_an_unknown_seq_is_refused_in_one_line_and_nothing_is_written(drill: Drill) -> None:
    run_id = ended_run(drill)
    before = drill.record(run_id).read_bytes()
    for seq in ("9", "0"):
        done = drill("annotate", run_id, seq, "wrong line", "--by", "carol")
        assert done.returncode == 2
        assert (
            done.stderr.strip()
            == f"drill: run {run_id} has no event {seq}; its events are 1 to 4 (see `drill timeline`)"
        )
    assert drill.record(run_id).read_bytes() == before


def test_a_run_still_open_is_annotated_with_a_note_instead(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    before = drill.record(run_id).read_bytes()
    done = drill("annotate", run_id, "1", "too early", "--by", "carol", DRILL_FAKE_NOW=at(1))
    assert done.returncode == 2
    assert "has not ended" in done.stderr
    assert "drill note" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert drill.record(run_id).read_bytes() == before


def test_a_note_after_the_end_is_still_refused(drill: Drill) -> None:
    run_id = ended_run(drill)
    done = drill("note", run_id, "one more thing", "--by", "alice")
    assert done.returncode == 2
    assert "has ended" in done.stderr
