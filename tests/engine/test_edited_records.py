"""A drill's record edited by hand and rechained (so `drill verify` cannot tell) that lacks a field
only a reader needs: every review command names the run and the line in one line, as the replay
does, and exits 1, instead of an internal error."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import DRILL, Drill, rechained

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
STEPS = [  # (minute, command and its arguments after the run): the sample drill by hand, rated, debriefed, annotated
    (2, ("act", "acknowledge", "--by", "bob")),
    (4, ("check", "bridge", "--by", "alice")),
    (5, ("note", "bridge 8876", "--by", "alice")),
    (15, ("observe", "detect", "--rating", "P", "--by", "erin")),
    (21, ("act", "mitigate", "--by", "bob")),  # the triage deadline breached at 17, recorded now
    (50, ("act", "resolve", "--by", "alice")),
    (55, ("feedback", "the bridge number in the wiki was wrong", "--by", "carol")),
    (56, ("annotate", "4", "the bridge was 8867", "--by", "alice")),
]
STATUS, TIMELINE = ("status",), ("timeline",)
AAR, JSON, HTML = (("export", "--format", f) for f in ("md", "json", "html"))


class Edit(NamedTuple):
    """A field taken out of the first line of a kind; the review commands that read it; whether
    the figures across runs (`drill report`) read it too, and so leave the run out."""

    kind: str
    field: str
    readers: list[tuple[str, ...]]
    left_out_of_figures: bool = False


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace with one drill, ended, rated, debriefed and annotated; its run id."""
    root = tmp_path_factory.mktemp("drilled") / "ws"
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True, timeout=60)
    drill = Drill(root)
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout.strip()
    for minute, (command, *args) in STEPS:
        drill(command, run, *args, ok=True, DRILL_FAKE_NOW=at(minute))
    return root, run


def _without(record: Path, kind: str, field: str) -> int:
    """The record with `field` taken out of its first `kind` line and rechained: that line's seq."""

    def take_out(events: list[dict[str, Any]]) -> int:
        edited = next(event for event in events if event["event"] == kind)
        del edited[field]
        return int(edited["seq"])

    return _forged(record, take_out)


def _forged(record: Path, change: Callable[[list[dict[str, Any]]], int]) -> int:
    """The record with its events changed by `change` and rechained, `run.ended`'s head included:
    what `drill verify` cannot tell from a record written so. The seq `change` names."""
    events = [json.loads(line) for line in record.read_bytes().splitlines()]
    seq = change(events)
    rechained(events)
    ended = next(event for event in events if event["event"] == "run.ended")
    ended["head"] = ended["prev"]
    record.write_bytes(rechained(events))
    return seq


EDITS = [
    Edit("transition", "trigger", [STATUS, TIMELINE, AAR, JSON], left_out_of_figures=True),
    Edit("transition", "actor", [STATUS, TIMELINE, AAR, JSON], left_out_of_figures=True),
    Edit("deadline.breached", "due", [STATUS, TIMELINE, AAR, JSON]),
    Edit("run.ended", "ts", [TIMELINE, AAR, JSON]),
    Edit("observation", "rating", [TIMELINE, AAR, JSON]),
    Edit("feedback", "text", [TIMELINE, AAR, JSON]),
    Edit("note", "t", [TIMELINE, AAR]),
    Edit("annotation", "of", [TIMELINE, AAR]),
    Edit("inject.delivered", "due", [HTML]),  # the chart of the HTML report marks each inject
]


@pytest.mark.parametrize("edit", EDITS, ids=[f"{edit.kind}.{edit.field}" for edit in EDITS])
def test_a_rechained_line_lacking_what_a_review_reads_is_named_at_its_seq(
    drilled: tuple[Path, str], tmp_path: Path, edit: Edit
) -> None:
    source, run = drilled
    root = Path(shutil.copytree(source, tmp_path / "ws"))
    drill = Drill(root).pinned(at(90))
    seq = _without(drill.record(run), edit.kind, edit.field)
    assert drill("verify", run).returncode == 0
    said = f"drill: the record of {run} cannot be replayed at seq {seq}: missing '{edit.field}' (see drill verify)\n"
    for command, *options in edit.readers:
        done = drill(command, run, *options)
        assert (done.returncode, done.stderr) == (1, said), (command, *options)
    figures = drill("report", "--include-drills", "--format", "json")
    assert (figures.returncode, figures.stderr) == (0, "")
    assert json.loads(figures.stdout)["left_out"] == ([run] if edit.left_out_of_figures else [])


INCIDENT = [  # (minute, command and its arguments after the run): an incident handled and resolved
    (2, ("act", "acknowledge", "--by", "bob")),
    (4, ("check", "bridge", "--by", "alice")),
    (6, ("check", "notify_customers", "--by", "carol")),
    (9, ("act", "mitigate", "--by", "bob")),
    (30, ("act", "resolve", "--by", "alice")),
]
REPLAY, FORECAST = ("replay",), ("forecast", "--severity", "II")  # the commands that learn from an incident


@pytest.mark.parametrize(
    ("kind", "field", "readers"),
    [
        ("transition", "actor", [REPLAY, FORECAST]),
        ("transition", "t", [FORECAST]),
        ("transition", "to", [FORECAST]),
        ("transition", "trigger", [REPLAY]),
        ("check.done", "t", [REPLAY, FORECAST]),
        ("assigned", "role", [REPLAY]),
    ],
)
def test_a_rechained_incident_lacking_what_learning_from_it_reads_is_named_at_its_seq(
    tmp_path: Path, kind: str, field: str, readers: list[tuple[str, ...]]
) -> None:
    drill = Drill(tmp_path / "ws")
    drill("init", str(drill.root), ok=True)
    run = drill.pinned(at(0)).open()
    drill("assign", run, "comms", "dave", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(1))
    for minute, (command, *args) in INCIDENT:
        drill(command, run, *args, ok=True, DRILL_FAKE_NOW=at(minute))
    seq = _without(drill.record(run), kind, field)
    assert drill("verify", run).returncode == 0
    said = f"drill: the record of {run} cannot be replayed at seq {seq}: missing '{field}' (see drill verify)\n"
    for command, *options in readers:
        target = run if command == "replay" else "core-network-outage"
        done = drill.pinned(at(90))(command, target, *options)
        assert (done.returncode, done.stderr) == (1, said), command


def _with_speed(drill: Drill, run: str, speed: object) -> None:
    events = drill.events(run)
    events[0]["speed"] = speed
    drill.record(run).write_bytes(rechained(events))


@pytest.mark.parametrize("speed", [0, -10, "fast", None], ids=["zero", "negative", "text", "null"])
def test_a_speed_that_is_not_a_number_above_0_is_named_in_one_line(drill: Drill, speed: object) -> None:
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True).stdout.strip()
    _with_speed(drill, run, speed)
    done = drill("status", run)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert run in line
    assert "line 1" in line or "seq 1" in line, line
    assert "internal error" not in line


def test_a_drill_whose_clock_all_but_stands_still_is_conducted_without_an_error(drill: Drill) -> None:
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True).stdout.strip()
    _with_speed(drill, run, 1e-308)  # accepted by `drill start` before its range was 0.01 to 10000
    done = drill("scheduler", "--once")
    assert done.returncode == 0, done.stderr
    assert [e for e in drill.events(run)[1:] if e["t"] > 0] == []  # past its T+0 injects, nothing comes due


def test_a_time_limit_end_past_any_date_at_an_edited_speed_is_named_in_one_line(drill: Drill) -> None:
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout.strip()
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=at(240))  # past its 2h time limit: ended at T+2h
    assert drill.events(run)[-1]["outcome"] == "timed-out"
    _with_speed(drill, run, 1e-308)  # its end's wall time: T+7200 s / 1e-308, past year 9999
    for review in (("timeline", run), ("export", run, "--format", "json")):
        done = drill(*review)
        assert done.returncode == 1, done.stderr
        (line,) = done.stderr.splitlines()
        assert run in line, line
        assert "seq 9" in line, line
        assert "past year 9999" in line, line


def _inject_without_message(scenario: dict[str, Any]) -> None:
    del scenario["injects"][0]["message"]


def _expect_of_two_actions(scenario: dict[str, Any]) -> None:
    scenario["injects"][0]["expect"] = {"trigger": "acknowledge", "check": "bridge", "within": 300, "role": None}


def _points_as_text(scenario: dict[str, Any]) -> None:
    scenario["scoring"] = {"points": {"P": "lots"}}


def _unknown_grade(scenario: dict[str, Any]) -> None:
    scenario["scoring"] = {"grades": {"满分": 100}}


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_inject_without_message, "missing 'message'"),
        (_expect_of_two_actions, "injects.0.expect: expected exactly one of trigger or check"),
        (_points_as_text, "scoring.points.P: expected a whole number from 0 to 100"),
        (_unknown_grade, "scoring.grades: unknown key '满分'"),
    ],
)
def test_a_drill_whose_copy_of_its_scenario_is_damaged_is_named_in_one_line(
    drill: Drill, damage: Callable[[dict[str, Any]], None], says: str
) -> None:
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True).stdout.strip()
    events = drill.events(run)
    damage(events[0]["scenario"])
    drill.record(run).write_bytes(rechained(events))
    done = drill("status", run)
    assert done.returncode == 1
    assert done.stderr == f"drill: the record of {run} cannot be replayed at seq 1: {says} (see drill verify)\n"


def _set(kind: str, field: str, value: object) -> Callable[[list[dict[str, Any]]], int]:
    """Sets `field` of the first `kind` line (a participant's name, for `participants.ROLE`); its seq."""

    def change(events: list[dict[str, Any]]) -> int:
        edited = next(event for event in events if event["event"] == kind)
        name, _, role = field.partition(".")
        if role:
            edited[name][role] = value
        else:
            edited[field] = value
        return int(edited["seq"])

    return change


FORGED = [  # what the line holds, as a forger who rechains the record may write it; what the refusal says
    (_set("run.started", "severity", "IX"), "severity 'IX' is none of the playbook's: I, II, III, IV"),
    (_set("run.started", "state", "nowhere"), "state 'nowhere' is none of the playbook's: detected, triage,"),
    (_set("run.started", "participants.noc", 5), "participant noc: 5 is not a name"),
    (_set("note", "t", -5), "t -5 is not a drill time (0 to ten years in seconds)"),
    (_set("note", "t", 1e308), "t 1e+308 is not a drill time (0 to ten years in seconds)"),
]


@pytest.mark.parametrize(("forge", "says"), FORGED, ids=["severity", "state", "participant", "t-negative", "t-huge"])
def test_a_rechained_incident_holding_what_no_run_could_is_named_in_one_line(
    tmp_path: Path, forge: Callable[[list[dict[str, Any]]], int], says: str
) -> None:
    drill = Drill(tmp_path / "ws")
    drill("init", str(drill.root), ok=True)
    run = drill.pinned(at(0)).open()
    drill("note", run, "on the bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(1))
    for minute, (command, *args) in INCIDENT:
        drill(command, run, *args, ok=True, DRILL_FAKE_NOW=at(minute))
    seq = _forged(drill.record(run), forge)
    assert drill("verify", run).returncode == 0
    for review in ("replay", "timeline"):
        done = drill.pinned(at(90))(review, run)
        assert done.returncode == 1, (review, done.stderr)
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"drill: the record of {run} cannot be replayed at seq {seq}: {says}"), (review, line)
