"""The responder commands through the real CLI: rejections, catch-up, status and runs as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAKE_NOW, Drill

LATER = "2026-11-29T08:07:00Z"  # FAKE_NOW + 7 minutes


def test_open_prints_the_run_id_alone(drill: Drill) -> None:
    run = drill.open()
    assert drill.record(run).is_file()
    events = drill.events(run)
    assert [e["event"] for e in events] == ["run.started"]
    assert events[0]["participants"] == {"lead": "alice", "noc": "bob", "comms": "carol"}
    assert events[0]["state"] == "detected"


def _rejected(drill: Drill, path: Path, *args: str) -> str:
    """Runs a command that must be rejected: exit 2, one stderr line, record byte-for-byte unchanged."""
    before = path.read_bytes() if path.exists() else None
    done = drill(*args, DRILL_FAKE_NOW=FAKE_NOW)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    assert (path.read_bytes() if path.exists() else None) == before
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("bogus", "--by", "bob"), ["unknown trigger 'bogus'", "acknowledge", "escalate"]),
        (("resolve", "--by", "alice"), ["not valid in state 'detected'", "acknowledge"]),
        (("acknowledge", "--by", "carol"), ["role comms may not fire 'acknowledge'", "lead, noc"]),
    ],
    ids=["unknown-trigger", "wrong-state", "role-not-allowed"],
)
def test_act_rejections_name_what_is_allowed(drill: Drill, args: tuple[str, ...], expected: list[str]) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    line = _rejected(drill, drill.record(run), "act", run, *args)
    for text in expected:
        assert text in line


def test_missing_checklist_item_is_rejected(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("act", run, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    line = _rejected(drill, drill.record(run), "act", run, "mitigate", "--by", "alice")
    assert "bridge" in line
    assert "allowed now" in line
    drill("check", run, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("act", run, "mitigate", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert drill.events(run)[-1]["to"] == "mitigated"


def test_checking_an_item_twice_is_rejected(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("check", run, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    line = _rejected(drill, drill.record(run), "check", run, "bridge", "--by", "alice")
    assert "already done" in line
    assert "notify_customers" in line


def test_an_item_done_twice_names_when_as_the_timeline_shows_it(drill: Drill) -> None:
    """Done at 65.7 s: the refusal says T+00:01:05, as the board and timeline do, not T+66s."""
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("check", run, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW="2026-11-29T08:01:05.700Z")
    assert "T+00:01:05" in drill("timeline", run, ok=True).stdout
    line = _rejected(drill, drill.record(run), "check", run, "bridge", "--by", "alice")
    assert "was already done by alice at T+00:01:05;" in line


def test_unknown_run_and_path_like_ids_touch_nothing(drill: Drill, workspace: Path) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    runs = workspace / "logs" / "runs"
    listing = sorted(p.name for p in runs.iterdir())
    missing = "20261129T080000Z-core-network-outage-ffff"
    line = _rejected(drill, runs / f"{missing}.jsonl", "note", missing, "hello")
    assert missing in line
    assert "drill runs" in line
    for bad in ("../../etc/passwd", f"../runs/{run}", f"{run}/../{run}", f"{run}.jsonl"):
        line = _rejected(drill, drill.record(run), "act", bad, "acknowledge", "--by", "bob")
        assert "not a run id" in line
    assert sorted(p.name for p in runs.iterdir()) == listing


def test_catch_up_records_breach_then_system_transition(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "looking into it", "--by", "bob", ok=True, DRILL_FAKE_NOW=LATER)
    events = drill.events(run)
    kinds = [(e["event"], e.get("state") or e.get("trigger") or e.get("metric") or e.get("text")) for e in events]
    assert kinds == [
        ("run.started", "detected"),
        ("deadline.breached", "detected"),
        ("transition", "escalate"),
        ("deadline.breached", "time_to_acknowledge"),
        ("note", "looking into it"),
    ]
    breach, move = events[1], events[2]
    assert (breach["due"], breach["late_by"], breach["owner"], breach["assignee"]) == (300, 120, "noc", "bob")
    assert (move["actor"], move["from"], move["to"], move["due"], move["late_by"]) == (
        "system",
        "detected",
        "escalated",
        300,
        120,
    )
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e["t"] == 420 for e in events[1:])


def test_catch_up_happens_once(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "first", "--by", "bob", ok=True, DRILL_FAKE_NOW=LATER)
    drill("note", run, "second", "--by", "bob", ok=True, DRILL_FAKE_NOW=LATER)
    kinds = [e["event"] for e in drill.events(run)]
    assert kinds.count("deadline.breached") == 2
    assert kinds.count("transition") == 1


def test_rejected_command_after_a_deadline_writes_nothing(drill: Drill) -> None:
    """The command is judged against the caught-up state (escalated), and a rejection writes nothing."""
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    path = drill.record(run)
    before = path.read_bytes()
    done = drill("act", run, "acknowledge", "--by", "bob", DRILL_FAKE_NOW=LATER)
    assert done.returncode == 2
    assert "'escalated'" in done.stderr
    assert path.read_bytes() == before


def test_status_json_for_one_run(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("act", run, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    done = drill("status", run, "--json", ok=True, DRILL_FAKE_NOW="2026-11-29T08:20:00Z")
    doc = json.loads(done.stdout)
    assert doc["run"] == run
    assert doc["state"] == "triage"
    assert "escalate" in doc["allowed_triggers"]["lead"]
    assert doc["open_items"] == ["bridge", "notify_customers", "report_regulator"]
    assert any(b["what"] == "state:triage" for b in doc["breaches"])  # 15 m deadline at II passed
    assert isinstance(doc["deadlines"], list)


def test_status_json_without_run_lists_open_runs(drill: Drill) -> None:
    first = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    second = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("abort", second, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    done = drill("status", "--json", DRILL_FAKE_NOW=FAKE_NOW)
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert [d["run"] for d in docs] == [first]
    assert docs[0]["state"] == "detected"
    assert docs[0]["open_items"] == ["bridge", "notify_customers", "report_regulator"]
    assert [d["what"] for d in docs[0]["deadlines"]][:1] == ["state:detected"]
    assert docs[0]["deadlines"][0]["left"] == 300


def test_runs_json_lists_runs_newest_first(drill: Drill) -> None:
    old = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    new = drill.open(DRILL_FAKE_NOW="2026-11-29T09:00:00Z")
    drill("abort", old, "--by", "alice", "--reason", "drill over", ok=True, DRILL_FAKE_NOW="2026-11-29T09:00:00Z")
    done = drill("runs", "--json", ok=True)
    docs = json.loads(done.stdout)
    assert [d["id"] for d in docs] == [new, old]
    assert docs[1]["outcome"] == "aborted"
    assert docs[0]["outcome"] is None
    assert {d["playbook"] for d in docs} == {"core-network-outage"}


def test_resolving_ends_the_run(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    for args in (
        ("act", run, "acknowledge", "--by", "bob"),
        ("check", run, "bridge", "--by", "alice"),
        ("act", run, "mitigate", "--by", "alice"),
        ("act", run, "resolve", "--by", "alice"),
    ):
        drill(*args, ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    events = drill.events(run)
    assert events[-1]["event"] == "run.ended"
    assert events[-1]["outcome"] == "resolved"
    assert events[-1]["events"] == len(events)
    assert events[-1]["head"] == events[-2]["hash"]
    line = _rejected(drill, drill.record(run), "note", run, "too late")
    assert "ended" in line
    done = drill("verify", run, ok=True)
    assert ": ok" in done.stdout


@pytest.mark.parametrize(
    ("named", "recorded"),
    [("II", "II"), ("重大", "II"), ("Major", "II"), ("重大 / Major", "II"), ("特别重大", "I"), ("general", "IV")],
)
def test_open_takes_a_severity_by_label_or_grade_and_records_the_id(drill: Drill, named: str, recorded: str) -> None:
    run = drill.open(severity=named)
    assert drill.events(run)[0]["severity"] == recorded


def test_severity_takes_a_label_or_grade_and_an_unknown_one_lists_the_labels(drill: Drill) -> None:
    run = drill.open()
    drill("severity", run, "特别重大", "--by", "alice", "--reason", "spreading", ok=True)
    drill("severity", run, "Serious", "--by", "alice", "--reason", "contained", ok=True)
    assert [(e["from"], e["to"]) for e in drill.events(run)[1:]] == [("II", "I"), ("I", "III")]
    refused = drill("severity", run, "严重", "--by", "alice", "--reason", "?")
    assert refused.returncode == 2
    assert "unknown severity '严重'; allowed: I (特别重大 / Extraordinary), II (重大 / Major)" in refused.stderr
    assert len(drill.events(run)) == 3


def test_runs_shows_the_severity_a_run_has_now_however_long_ago_it_changed(drill: Drill) -> None:
    run = drill.open(severity="II")
    drill("severity", run, "I", "--by", "alice", "--reason", "second province affected", ok=True)
    for n in range(8):  # some 80 KB of notes after the change: more than a listing reads of a record's end
        drill("note", run, f"update {n}: " + "链路 " * 3300, "--by", "alice", ok=True)

    (row,) = json.loads(drill("runs", "--json", ok=True).stdout)
    assert row["severity"] == "I"
    table = drill("runs", ok=True).stdout.splitlines()[-1]
    assert table.split()[3] == "I"
