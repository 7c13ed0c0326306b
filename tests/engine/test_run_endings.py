"""How runs end: an aborted drill charges no one for what it never reached (`void`); a time limit
caught up late ends the run at the limit; resuming an ended run conducts nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from drillkit.engine.metrics import accountability, state_times
from tests.conftest import Drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def started(drill: Drill) -> str:
    return drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout.strip()


def test_an_aborted_drill_judges_only_what_it_reached(drill: Drill) -> None:
    run_id = started(drill)
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(2))
    drill("abort", run_id, "--by", "alice", "--reason", "real outage", ok=True, DRILL_FAKE_NOW=at(8))
    document = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)
    assert [(e["inject"], e["verdict"], e["why"]) for e in document["expectations"]] == [
        ("alarm", "met", "met: acknowledge done at T+00:02:00 by bob, due T+00:05:00"),
        ("complaints", "void", "void: the run was aborted at T+00:08:00, before the inject at T+00:10:00"),
    ]
    assert accountability(document["events"]) == []  # `complaints` (due at 10m) was never delivered


def test_a_window_still_open_at_the_abort_is_not_a_miss(drill: Drill) -> None:
    run_id = started(drill)
    drill("abort", run_id, "--by", "alice", "--reason", "real outage", ok=True, DRILL_FAKE_NOW=at(3))
    document = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)
    assert [(e["inject"], e["verdict"], e["why"]) for e in document["expectations"]] == [
        ("alarm", "void", "void: the run was aborted at T+00:03:00, before acknowledge was due (T+00:05:00)"),
        ("complaints", "void", "void: the run was aborted at T+00:03:00, before the inject at T+00:10:00"),
    ]  # alarm delivered, but its 5-minute window was open
    assert accountability(document["events"]) == []


def test_a_time_limit_caught_up_late_ends_the_run_at_the_limit(drill: Drill) -> None:
    run_id = started(drill)
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(200))  # nobody watched for 3h20m
    events = drill.events(run_id)
    ended = events[-1]
    assert (ended["event"], ended["outcome"], ended["due"]) == ("run.ended", "timed-out", 7200.0)
    assert ended["t"] == 12000.0
    assert sum(state_times(events).values()) == 7200.0
    document = json.loads(drill("export", run_id, "--format", "json", ok=True, DRILL_FAKE_NOW=at(210)).stdout)
    assert document["run"]["ended"] == "2026-11-29T10:00:00.000Z"  # at the limit, not when written down (11:20)
    rows = json.loads(drill("timeline", run_id, "--json", ok=True, DRILL_FAKE_NOW=at(210)).stdout)["rows"]
    assert rows[-1]["detail"] == "timed-out: time limit reached at T+7200s (took effect at T+02:00:00)"


def test_an_open_run_exported_counts_its_current_stay_to_now(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(3))
    report = drill("export", run_id, "--format", "md", ok=True, DRILL_FAKE_NOW=at(13)).stdout  # nothing due yet
    assert "| triage | 10m |" in report  # entered at 3m, exported at 13m, as `drill status` counts it


def test_resuming_an_ended_run_conducts_nothing(drill: Drill) -> None:
    run_id = started(drill)
    drill("abort", run_id, "--by", "alice", "--reason", "called off", ok=True, DRILL_FAKE_NOW=at(1))
    before = drill.record(run_id).read_bytes()
    done = drill("resume", run_id)
    assert done.returncode == 0
    assert done.stdout == ""
    assert done.stderr.strip() == f"{run_id} has ended (aborted); nothing left to conduct"
    assert drill.record(run_id).read_bytes() == before


def test_an_incident_opens_despite_a_broken_notifier_but_says_so(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text('[[notify]]\nname = "x"\nkind = "pigeon"\n', encoding="utf-8")
    done = drill("open", "core-network-outage", "--severity", "I", "--as", "lead=alice", "--by", "alice", ok=True)
    assert done.stdout.strip() in {p.stem for p in (drill.root / "logs" / "runs").glob("*.jsonl")}
    assert "warning" in done.stderr
    assert "notifier" in done.stderr
