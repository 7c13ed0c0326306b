"""Bad input is refused at the door: exit 2, one line on stderr, nothing written under `logs/`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import DRILL, FAKE_NOW, Drill


def _logs(root: Path) -> dict[str, bytes]:
    """Every file under `logs/` with its bytes."""
    logs = root / "logs"
    return {str(p.relative_to(logs)): p.read_bytes() for p in sorted(logs.rglob("*")) if p.is_file()}


def _refused(drill: Drill, *args: str, **env: str) -> str:
    """Runs a command that must be refused: exit 2, one stderr line, no stdout, `logs/` unchanged; the line."""
    before = _logs(drill.root)
    done = subprocess.run(
        [str(DRILL), *args],
        capture_output=True,
        text=True,
        env=drill.env(**({"DRILL_FAKE_NOW": FAKE_NOW} | env)),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    assert _logs(drill.root) == before
    return lines[0]


def test_a_fake_now_that_is_not_a_time_names_the_variable_and_the_form(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    for garbage in ("garbage", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00"):
        line = _refused(drill, "open", "core-network-outage", "--severity", "II", DRILL_FAKE_NOW=garbage)
        assert "DRILL_FAKE_NOW" in line
        assert "2026-11-29T08:00:00Z" in line
        assert "internal error" not in line
        _refused(drill, "note", run, "hello", "--by", "bob", DRILL_FAKE_NOW=garbage)


def test_an_argument_that_is_not_utf8_is_refused_naming_its_position(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    bad = os.fsdecode(b"\xff\xfe")
    line = _refused(drill, "note", run, bad, "--by", "bob")
    assert "argument 3" in line
    assert "UTF-8" in line
    assert "internal error" not in line
    assert "argument 2" in _refused(drill, "open", bad, "--severity", "II")
    assert "argument 5" in _refused(drill, "note", run, "hello", "--by", f"bob{bad}")


BLANK_OR_CONTROL = ["", "   ", "\t", "bob\nmallory", "bob\x1b[31m", "bob\u2028"]


@pytest.mark.parametrize("name", BLANK_OR_CONTROL, ids=repr)
def test_a_blank_or_control_character_actor_is_refused(drill: Drill, name: str) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert "--by" in _refused(drill, "note", run, "hello", "--by", name)
    assert "--by" in _refused(drill, "act", run, "acknowledge", "--by", name)
    assert "--by" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--by", name)
    assert "--by" in _refused(drill, "start", "core-outage-q4", "--detach", "--by", name)
    if name:  # an empty DRILL_USER means "not set": the login name is used
        assert "DRILL_USER" in _refused(drill, "note", run, "hello", DRILL_USER=name)
        assert "DRILL_USER" in _refused(drill, "open", "core-network-outage", "--severity", "II", DRILL_USER=name)
    assert "person" in _refused(drill, "assign", run, "lead", name, "--by", "bob")
    if name.strip():
        assert "--as lead" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", f"lead={name}")
    else:
        assert "ROLE=NAME" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", f"lead={name}")


def test_a_name_is_recorded_without_surrounding_blanks(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "hello", "--by", "  bob ", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("assign", run, "comms", " 王芳 ", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    note, assigned = drill.events(run)[-2:]
    assert (note["event"], note["actor"]) == ("note", "bob")
    assert (assigned["event"], assigned["person"]) == ("assigned", "王芳")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("act",), "drill act: missing argument 'run' (see drill act --help)"),
        (("report", "--format", "xml"), "drill report: invalid value for '--format' / '-f': 'xml' is not one of"),
        (("nosuch",), "drill: no such command 'nosuch' (see drill --help)"),
        (("note", "r", "hi", "--bogus"), "drill note: no such option: --bogus (see drill note --help)"),
        (("schedule", "add"), "drill schedule add: missing argument 'scenario'"),
        (("--tz",), "drill: option '--tz' requires an argument"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(
    drill: Drill, args: tuple[str, ...], said: str
) -> None:
    assert _refused(drill, *args).startswith(said)


def test_drill_or_a_command_group_alone_shows_its_help(drill: Drill) -> None:
    for args, usage in (((), "Usage: drill [OPTIONS] COMMAND"), (("schedule",), "Usage: drill schedule [OPTIONS]")):
        done = drill(*args)
        assert done.returncode == 2
        assert done.stderr.startswith(usage)
        assert "Commands:" in done.stderr


def test_runs_mode_is_a_choice(drill: Drill) -> None:
    drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    done = drill("runs", "--mode", "bogus")
    assert done.returncode == 2
    assert "'bogus' is not one of 'incident', 'drill', 'simulation'" in done.stderr
    assert done.stdout == ""
    assert len(json.loads(drill("runs", "--mode", "incident", "--json", ok=True).stdout)) == 1
    assert json.loads(drill("runs", "--mode", "drill", "--json", ok=True).stdout) == []


@pytest.mark.parametrize("command", ["report", "runs"])
def test_an_unknown_playbook_filter_names_the_known_ones(drill: Drill, command: str) -> None:
    for bad in ("nope", "../x"):
        line = _refused(drill, command, "--playbook", bad)
        assert repr(bad) in line
        assert "core-network-outage" in line
        assert "customer-data-leak" in line


def test_a_playbook_known_only_from_a_run_is_still_a_filter(drill: Drill, workspace: Path) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    (workspace / "playbooks" / "core-network-outage.yaml").unlink()
    listed = json.loads(drill("runs", "--playbook", "core-network-outage", "--json", ok=True).stdout)
    assert [r["id"] for r in listed] == [run]
    drill("report", "--playbook", "core-network-outage", "--format", "json", ok=True)
    assert "core-network-outage" in _refused(drill, "report", "--playbook", "nope")


@pytest.mark.parametrize(
    ("since", "until"),
    [("2026-12-01", "2026-11-01"), ("2026-11-01T08:00Z", "2026-11-01T08:00Z"), ("2026-11-02", "2026-11-01T23:00Z")],
)
def test_report_since_after_until_is_refused(drill: Drill, since: str, until: str) -> None:
    line = _refused(drill, "report", "--since", since, "--until", until)
    assert f"--since {since} is not before --until {until}" in line
    drill("report", "--since", "2026-11-01", "--until", "2026-11-01", ok=True)  # one whole day


DATES_OUT_OF_RANGE = [
    ("report", "--since", "0001-01-01"),
    ("report", "--until", "0001-01-01"),
    ("report", "--until", "9999-12-31"),
    ("report", "--until", "9999-12-31T23:59:59-05:00"),
    ("runs", "--since", "9999-12-31T23:59:59-05:00"),
]


@pytest.mark.parametrize(("command", "option", "value"), DATES_OUT_OF_RANGE)
def test_a_date_out_of_range_is_refused_in_one_line(drill: Drill, command: str, option: str, value: str) -> None:
    drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    line = _refused(drill, command, option, value)
    assert line == (
        f"drill: {option} {value!r}: use a date from 1970-01-01 to 9998-12-31 like 2026-11-01, "
        "or a time like 2026-11-01T08:00Z"
    )


TOO_LARGE = [
    ("scenarios/core-outage-q4.yaml", "time_limit: 2h", "time_limit: 999999999999999999999d", "start"),
    ("scenarios/core-outage-q4.yaml", "within: 5m", "within: 99999999999999999999d", "simulate"),
    ("playbooks/core-network-outage.yaml", "version: 3", "version: 99999999999999999999", "open"),
    ("playbooks/core-network-outage.yaml", "deadline: 5m", "deadline: 99999999999999999999999d", "open"),
]
COMMANDS = {
    "start": ("start", "core-outage-q4", "--detach"),
    "simulate": ("simulate", "core-outage-q4"),
    "open": ("open", "core-network-outage", "--severity", "II"),
}


@pytest.mark.parametrize(("file", "value", "huge", "command"), TOO_LARGE, ids=[t[2] for t in TOO_LARGE])
def test_a_number_too_large_for_a_plan_is_refused_at_its_line(
    drill: Drill, file: str, value: str, huge: str, command: str
) -> None:
    plan = drill.root / file
    plan.write_text(plan.read_text(encoding="utf-8").replace(value, huge, 1), encoding="utf-8")
    line = _refused(drill, *COMMANDS[command])
    assert line.startswith(f"{file}:"), line
    assert line.endswith(("at most 3650d", "at most 9007199254740991 (2^53 - 1)")), line


def test_a_role_given_twice_is_refused(drill: Drill) -> None:
    twice = ("--as", "lead=a", "--as", "lead=b")
    assert "'lead' is given twice" in _refused(drill, "open", "core-network-outage", "--severity", "II", *twice)
    assert "'lead' is given twice" in _refused(drill, "start", "core-outage-q4", "--detach", *twice)


def test_playbooks_and_schedule_list_show_times_in_the_display_zone(drill: Drill) -> None:
    drill(
        "schedule", "add", "core-outage-q4", "--at", "2026-11-29T08:30", "--tz", "UTC", ok=True, DRILL_FAKE_NOW=FAKE_NOW
    )
    later = ("--at", "2026-12-01T09:00", "--tz", "Asia/Shanghai", "--id", "later")
    drill("schedule", "add", "core-outage-q4", *later, ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW="2026-11-29T08:31:00Z")
    shown = drill("--tz", "Asia/Shanghai", "playbooks", ok=True, DRILL_FAKE_NOW="2026-11-29T08:32:00Z").stdout
    [row] = [line for line in shown.splitlines() if line.startswith("core-network-outage ")]
    assert "2026-11-29 16:31:00 CST" in row  # last drill
    assert "2026-12-01 09:00:00 CST" in row  # next drill
    assert "Z" not in row.split("Core network outage")[1]
    rows = json.loads(drill("playbooks", "--json", ok=True, DRILL_FAKE_NOW="2026-11-29T08:32:00Z").stdout)
    [core] = [r for r in rows if r["id"] == "core-network-outage"]
    assert (core["last_drill"], core["next_drill"]) == ("2026-11-29T08:31:00.000Z", "2026-12-01T01:00:00.000Z")
    listed = drill("--tz", "Asia/Shanghai", "schedule", "list", ok=True, DRILL_FAKE_NOW="2026-11-29T08:32:00Z").stdout
    assert "started 2026-11-29 16:30:00 CST" in listed
    assert "2026-11-29T08:30:00.000Z" not in listed
    fires = json.loads(drill("schedule", "list", "--json", ok=True, DRILL_FAKE_NOW="2026-11-29T08:32:00Z").stdout)
    assert fires[0]["last_fire"]["nominal"] == "2026-11-29T08:30:00.000Z"


def test_an_output_file_in_a_missing_folder_is_refused_in_one_line(drill: Drill, workspace: Path) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("report", "--format", "json", ok=True)  # the report cache and the schedule store are made now,
    drill("schedule", "export", "--format", "ics", ok=True)  # not by the refused commands
    missing = workspace / "no-such-folder"
    last_answer = (workspace / "logs" / "report-last.cache").read_bytes()
    commands = {
        "report": ("report", "--format", "json", "--since", "2026-01-01", "-o", str(missing / "report.json")),
        "export": ("export", run, "--format", "md", "-o", str(missing / "aar.md")),
        "schedule export": ("schedule", "export", "--format", "ics", "-o", str(missing / "drills.ics")),
        "a folder": ("report", "--format", "html", "-o", str(workspace)),  # a new question: its answer would be kept
    }
    for name, args in commands.items():
        line = _refused(drill, *args)
        assert line.startswith(f"drill: -o {args[-1]}: "), (name, line)
        assert line.endswith("; name a file in a folder that exists and can be written"), (name, line)
    assert not missing.exists()
    assert not [p for p in workspace.iterdir() if p.name.endswith(".tmp")]
    assert (workspace / "logs" / "report-last.cache").read_bytes() == last_answer  # refused before it was built


def test_an_output_into_a_pipe_keeps_the_pipe(drill: Drill, tmp_path: Path) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with ThreadPoolExecutor(1) as reader:
        received = reader.submit(pipe.read_bytes)
        drill("export", run, "--format", "csv", "-o", str(pipe), ok=True)
        assert received.result(timeout=30).startswith("\ufeffseq,ts (UTC),t,clock,event".encode())
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


@pytest.mark.parametrize("command", ["export", "report", "schedule export"])
def test_an_empty_output_name_is_refused_in_one_line(drill: Drill, command: str) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    args = {
        "export": ("export", run, "--format", "md"),
        "report": ("report", "--format", "json"),
        "schedule export": ("schedule", "export", "--format", "ics"),
    }[command]
    line = _refused(drill, *args, "-o", "")
    assert line == "drill: -o .: a folder, not a file; name a file in a folder that exists and can be written"


@pytest.mark.parametrize("where", ["export", "global"])
def test_an_empty_time_zone_is_refused_not_taken_for_the_default(drill: Drill, tmp_path: Path, where: str) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    aar = tmp_path / "aar.csv"
    args = ("export", run, "--format", "csv", "-o", str(aar))
    line = _refused(drill, *(("--tz", "", *args) if where == "global" else (*args, "--tz", "")))
    assert line == "drill: unknown time zone ''; use an IANA name such as Asia/Shanghai or UTC"
    assert not aar.exists()


def test_verify_with_run_ids_and_all_is_refused(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert _refused(drill, "verify", "--all", run) == "drill: give run ids or `actions`, or --all, not both"


@pytest.mark.parametrize("speed", ["1e-308", "0.009", "0", "-1", "nan", "10001"])
def test_a_speed_out_of_range_is_refused_in_one_line(drill: Drill, speed: str) -> None:
    """At --speed 1e-308 the first deadline's wall time was infinite: the scheduler's conductor
    failed on it with an internal error."""
    line = _refused(drill, "start", "core-outage-q4", "--speed", speed, "--detach", "--by", "alice")
    assert line.endswith(": must be from 0.01 to 10000")
