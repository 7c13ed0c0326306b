"""The record on disk: its line format, torn tails set aside, write failures, file modes."""

from __future__ import annotations

import gc
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from drillkit.model.errors import RecordError
from drillkit.store.reader import parse_lines
from tests.conftest import DRILL, FAKE_NOW, Drill, read_events
from tests.independent_verifier import verify_bytes

HEAD = ["v", "seq", "ts", "t", "run", "event", "actor", "role"]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_lines_have_the_spec_form(drill: Drill) -> None:
    run = drill.open()
    drill("act", run, "acknowledge", "--by", "bob", "--note", "on it", ok=True)
    drill("check", run, "bridge", "--by", "alice", ok=True)
    drill("assign", run, "comms", "dave", "--by", "alice", ok=True)
    drill("severity", run, "I", "--by", "alice", "--reason", "spreading", ok=True)
    drill("abort", run, "--by", "alice", "--reason", "exercise over", ok=True)
    raw = drill.record(run).read_bytes().splitlines()
    events = drill.events(run)
    assert [e["event"] for e in events] == [
        "run.started",
        "transition",
        "check.done",
        "assigned",
        "severity.changed",
        "run.ended",
    ]
    for number, (line, event) in enumerate(zip(raw, events, strict=True), start=1):
        keys = list(event)
        assert keys[:8] == HEAD
        assert keys[-2:] == ["prev", "hash"]
        assert line.endswith(b'"hash":"' + event["hash"].encode() + b'"}')
        assert (event["v"], event["seq"], event["run"]) == (1, number, run)
        assert TS.match(event["ts"])
        assert round(event["t"], 3) == event["t"]
    assert events[0]["prev"] == "0" * 64
    assert events[2] | {"state": "triage", "item": "bridge"} == events[2]
    assert (events[3]["role"], events[3]["person"]) == ("comms", "dave")
    assert (events[4]["from"], events[4]["to"], events[4]["reason"]) == ("II", "I", "spreading")
    ended = events[-1]
    assert (ended["outcome"], ended["events"], ended["head"]) == ("aborted", 6, events[-2]["hash"])


def test_drill_clock_counts_from_the_start(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "ninety seconds in", "--by", "bob", ok=True, DRILL_FAKE_NOW="2026-11-29T08:01:30.250Z")
    last = drill.events(run)[-1]
    assert (last["ts"], last["t"]) == ("2026-11-29T08:01:30.250Z", 90.25)


def _tear(path: Path, torn: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(torn)


@pytest.mark.parametrize("how", ["half-a-line", "truncated-last-line", "garbage"])
def test_torn_tail_is_set_aside_and_recorded(drill: Drill, how: str) -> None:
    run = drill.open()
    drill("note", run, "before the crash", "--by", "bob", ok=True)
    path = drill.record(run)
    data = path.read_bytes()
    if how == "half-a-line":
        torn = data.splitlines(keepends=True)[-1][:57]
        _tear(path, torn)
    elif how == "truncated-last-line":
        last = data.splitlines(keepends=True)[-1]
        torn = last[: len(last) // 2]
        os.truncate(path, len(data) - len(last) + len(torn))
    else:
        torn = '{"v":1,"seq":3,"text":"半行'.encode()
        _tear(path, torn)
    done = drill("verify", run, "--json", ok=True)
    report = json.loads(done.stdout)[0]
    assert (report["verdict"], report["torn_bytes"]) == ("open", len(torn))
    intact = path.read_bytes()[: -len(torn)]

    drill("note", run, "after the crash", "--by", "bob", ok=True)
    aside = path.with_name(path.name + ".torn")
    assert aside.read_bytes() == torn + b"\n"
    assert stat.S_IMODE(aside.stat().st_mode) == 0o640
    after = path.read_bytes()
    assert after.startswith(intact)
    events = read_events(path)
    repaired, note = events[-2], events[-1]
    assert repaired["event"] == "record.repaired"
    assert (repaired["bytes"], repaired["file"], repaired["actor"]) == (len(torn), aside.name, "system")
    assert note["text"] == "after the crash"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert verify_bytes(after).verdict == "open"


def test_second_torn_tail_is_appended_to_the_torn_file(drill: Drill) -> None:
    run = drill.open()
    path = drill.record(run)
    aside = path.with_name(path.name + ".torn")
    _tear(path, b'{"v":1,"se')
    drill("note", run, "one", "--by", "bob", ok=True)
    _tear(path, b'{"v":1,"seq":4,"ts"')
    drill("note", run, "two", "--by", "bob", ok=True)
    assert aside.read_bytes() == b'{"v":1,"se\n{"v":1,"seq":4,"ts"\n'
    kinds = [(e["event"], e.get("bytes")) for e in drill.events(run)]
    assert kinds == [
        ("run.started", None),
        ("record.repaired", 10),
        ("note", None),
        ("record.repaired", 19),
        ("note", None),
    ]


def test_a_rejected_command_writes_nothing_and_the_next_append_sets_the_torn_tail_aside(drill: Drill) -> None:
    run = drill.open()
    path = drill.record(run)
    _tear(path, b'{"v":1,"seq":2')
    before = path.read_bytes()
    done = drill("act", run, "bogus", "--by", "bob")
    assert done.returncode == 2
    assert path.read_bytes() == before
    torn_file = path.with_name(path.name + ".torn")
    assert not torn_file.exists()
    drill("note", run, "next", "--by", "bob", ok=True)
    assert [e["event"] for e in drill.events(run)] == ["run.started", "record.repaired", "note"]
    assert torn_file.read_bytes() == b'{"v":1,"seq":2\n'


def test_complete_corrupt_line_is_reported_not_repaired(drill: Drill) -> None:
    run = drill.open()
    path = drill.record(run)
    _tear(path, b"this is not json\n")
    before = path.read_bytes()
    done = drill("verify", run)
    assert done.returncode == 1
    assert "tampered at line 2" in done.stdout
    done = drill("note", run, "more", "--by", "bob")
    assert done.returncode != 0
    assert len(done.stderr.splitlines()) == 1
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".torn").exists()
    os.truncate(path, len(before) - len(b"this is not json\n"))  # leave a verifiable record for teardown


def test_failed_write_fails_the_command_and_leaves_the_record_as_it_was(drill: Drill) -> None:
    """A write cut short (a full disk) fails the command in one line and is taken back: nothing
    of it is left to be read as recorded, nor to be set aside later."""
    run = drill.open()
    path = drill.record(run)
    before = path.read_bytes()
    done = drill.on_a_full_disk(len(before) + 100, "note", run, "this note does not fit " * 10, "--by", "bob")
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "short write to the record" in done.stderr
    assert path.read_bytes() == before
    drill("note", run, "after the failed write", "--by", "bob", ok=True)
    events = drill.events(run)
    assert [e["event"] for e in events[1:]] == ["note"]
    assert events[-1]["text"] == "after the failed write"
    assert not path.with_name(path.name + ".torn").exists()
    drill("verify", run, ok=True)


def test_a_batch_cut_short_leaves_none_of_its_lines(drill: Drill) -> None:
    """A deadline breach and the `on_deadline` transition it sets off are written in one batch:
    when the disk fills after the breach's line, the breach is not left behind without its
    escalation (a run shown in `detected` for good); the next command records both."""
    pinned = drill.pinned()
    run = pinned.open()
    path = drill.record(run)
    before = path.read_bytes()
    later = {"DRILL_FAKE_NOW": "2026-11-29T08:20:00Z"}
    done = pinned.on_a_full_disk(len(before) + 700, "note", run, "still looking", "--by", "bob", **later)
    assert done.returncode == 1, done.stderr
    assert path.read_bytes() == before
    pinned("note", run, "still looking", "--by", "bob", ok=True, **later)
    events = drill.events(run)[1:]
    assert [(e["event"], e.get("state"), e.get("to")) for e in events[:2]] == [
        ("deadline.breached", "detected", None),
        ("transition", None, "escalated"),
    ]
    assert events[-1]["event"] == "note"


def test_a_breach_whose_escalation_a_crash_cut_off_is_escalated_by_the_next_command(drill: Drill) -> None:
    """A kill -9 in the middle of the batch's one `write` can leave the breach's line whole and
    the transition's torn: the torn tail is set aside, and the escalation the breach set off is
    still written (late, at its due time), never left owed for good."""
    pinned = drill.pinned()
    run = pinned.open()
    path = drill.record(run)
    pinned("status", run, ok=True, DRILL_FAKE_NOW="2026-11-29T08:20:00Z")  # writes breach + escalation
    lines = path.read_bytes().splitlines(keepends=True)
    cut = [json.loads(line)["event"] for line in lines].index("transition")
    assert json.loads(lines[cut - 1])["state"] == "detected"
    path.write_bytes(b"".join(lines[:cut]) + lines[cut][:40])  # the write cut by the kill in the transition
    pinned("note", run, "still looking", "--by", "bob", ok=True, DRILL_FAKE_NOW="2026-11-29T08:30:00Z")
    events = drill.events(run)[1:]
    assert [(e["event"], e.get("state"), e.get("to")) for e in events[:3]] == [
        ("deadline.breached", "detected", None),
        ("record.repaired", None, None),
        ("transition", None, "escalated"),
    ]
    assert events[-1]["event"] == "note"
    escalation = events[2]
    assert (escalation["trigger"], escalation["due"], escalation["late_by"]) == ("escalate", 300.0, 1500.0)
    status = json.loads(pinned("status", run, "--json", ok=True, DRILL_FAKE_NOW="2026-11-29T08:30:00Z").stdout)
    assert status["state"] == "escalated"


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o022])
def test_files_0640_and_folders_0750_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "ws"
    drill = Drill(root, umask=umask)
    drill("init", str(root), ok=True)
    run = drill.open("--as", "noc=bob")
    path = drill.record(run)
    _tear(path, b'{"v"')
    drill("note", run, "hello", "--by", "bob", ok=True)
    made = [root, *root.rglob("*")]
    assert path.with_name(path.name + ".torn") in made
    for item in made:
        if item.name == ".gitkeep":
            continue
        want = 0o750 if item.is_dir() else 0o640
        assert stat.S_IMODE(item.stat().st_mode) == want, f"{item.relative_to(tmp_path)} with umask {umask:03o}"


def test_tail_set_aside_by_a_killed_process_is_still_recorded(drill: Drill) -> None:
    """Killed after moving a torn tail to `.torn` but before its append: the next append records it."""
    run = drill.open()
    path = drill.record(run)
    aside = path.with_name(path.name + ".torn")
    aside.write_bytes(b'{"v":1,"seq":2,"t\n')  # set aside, record already cut, no record.repaired yet
    drill("note", run, "next", "--by", "bob", ok=True)
    events = drill.events(run)
    assert [(e["event"], e.get("bytes")) for e in events] == [
        ("run.started", None),
        ("record.repaired", 17),
        ("note", None),
    ]
    assert aside.read_bytes() == b'{"v":1,"seq":2,"t\n'


def test_tail_set_aside_but_not_yet_cut_is_not_set_aside_twice(drill: Drill) -> None:
    """Killed after writing `.torn` but before cutting the record: the tail is moved once, recorded once."""
    run = drill.open()
    path = drill.record(run)
    aside = path.with_name(path.name + ".torn")
    _tear(path, b'{"v":1,"seq":2,"t')
    aside.write_bytes(b'{"v":1,"seq":2,"t\n')
    drill("note", run, "next", "--by", "bob", ok=True)
    assert aside.read_bytes() == b'{"v":1,"seq":2,"t\n'
    kinds = [(e["event"], e.get("bytes")) for e in drill.events(run)]
    assert kinds == [("run.started", None), ("record.repaired", 17), ("note", None)]


def test_a_record_written_under_older_rules_still_replays(drill: Drill) -> None:
    """Rules added for plan files later (names without control characters, a version at most
    2^53 - 1) bind files from then on; a record keeps the plan as it was and must still replay."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock, parse_utc
    from drillkit.plans.library import Plans
    from drillkit.services.runs import started_draft
    from drillkit.store.files import RunRecord

    ws = Workspace(drill.root)
    playbook = Plans(ws).playbook("core-network-outage")
    people = {"noc": "bob\tjr", "lead": "alice"}
    first = started_draft(ws, pb=playbook, mode="incident", severity="II", by="alice", participants=people)
    first["playbook"]["version"] = 2**60
    run = "20261129T080000Z-core-network-outage-0a1d"
    RunRecord(ws, run).create(first, VirtualClock(parse_utc(FAKE_NOW)))
    status = json.loads(drill("status", run, "--json", ok=True, DRILL_FAKE_NOW=FAKE_NOW).stdout)
    assert status["participants"] == {"noc": "bob\tjr", "lead": "alice"}
    drill("note", run, "still replays", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert drill.events(run)[-1]["text"] == "still replays"
    drill("export", run, "--format", "md", ok=True, DRILL_FAKE_NOW=FAKE_NOW)


@pytest.mark.parametrize("collecting", [True, False])
def test_parsing_a_record_leaves_the_garbage_collector_as_it_found_it(collecting: bool) -> None:
    """Lines are parsed with the collector held off, then it is on again, unless it was off before
    (drill's start-up keeps it off, and a daemon must never be left without it)."""
    lines = b"".join(b'{"seq":%d,"event":"note","origin":{"user":"bob"}}\n' % n for n in range(1, 3000))
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        events, torn = parse_lines(lines + b'{"seq":')
        assert (len(events), torn, gc.isenabled()) == (2999, b'{"seq":', collecting)
        with pytest.raises(RecordError, match="line 3000 of the record is not a JSON object"):
            parse_lines(lines + b"not json\n")
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()


def test_writing_a_record_leaves_asyncio_unloaded_until_it_is_used(drill: Drill) -> None:
    """structlog imports asyncio for async loggers the writer never calls: a command that writes
    does not pay for it, and asyncio still works whole in that process, however it is reached."""
    run = drill.open()
    probe = (
        "import sys\nfrom drillkit.cli.main import run\n"
        f"sys.argv = ['drill', 'note', {run!r}, 'bridge open', '--by', 'bob']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print('asyncio.base_events' in sys.modules)\n"
        "import asyncio\n"  # the statement alone still loads nothing
        "print('asyncio.base_events' in sys.modules)\n"
        "import structlog.stdlib\n"
        "print(asyncio.run(asyncio.sleep(0, 'ran')), structlog.stdlib.asyncio.Future is asyncio.Future)\n"
        "from asyncio import events\nimport asyncio.queues\n"
        "print('whole' if callable(events.new_event_loop) and asyncio.queues.Queue else 'broken')\n"
    )
    python = str(DRILL.with_name("python"))
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=drill.env(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-4:] == ["False", "False", "ran True", "whole"]  # the probe's own lines
    assert drill.events(run)[-1]["text"] == "bridge open"
