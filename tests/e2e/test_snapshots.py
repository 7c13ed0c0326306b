"""A command on a long record reads on from the run's snapshot, and decides exactly as a replay
of the whole record would: the same events written, the same words said."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Drill, add_notes

HISTORY = 1200  # notes: past the number of events after which a command keeps a snapshot
UNHASHED = ("req", "origin", "prev", "hash", "head")  # what differs between two writes of the same decision

# (minutes after the run opened, the command): acknowledged, then deadlines and a target missed
# while nobody watched (caught up by the note), mitigated and resolved.
COMMANDS = [
    (2, ["act", "{run}", "acknowledge", "--by", "bob"]),
    (3, ["check", "{run}", "bridge", "--by", "alice"]),
    (40, ["note", "{run}", "still down", "--by", "carol"]),
    (41, ["act", "{run}", "mitigate", "--by", "alice"]),
    (50, ["check", "{run}", "report_regulator", "--by", "bob"]),
    (51, ["act", "{run}", "resolve", "--by", "alice"]),
]


def at(opened: datetime, minutes: int) -> str:
    return (opened + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot(drill: Drill, run: str) -> Path:
    return drill.record(run).with_name(f"{run}.jsonl.snapshot")


def test_commands_on_a_long_record_decide_as_a_replay_of_the_whole_record(
    drill: Drill, workspace: Path, tmp_path: Path
) -> None:
    opened = datetime.now(UTC).replace(microsecond=0)
    run = drill.pinned(at(opened, 0)).open()
    add_notes(workspace, run, HISTORY)
    replaying = Drill(tmp_path / "replaying")
    shutil.copytree(workspace, replaying.root)
    said = []
    for minutes, command in COMMANDS:
        args = [arg.format(run=run) for arg in command]
        resumed = drill.pinned(at(opened, minutes))(*args, ok=True)
        snapshot(replaying, run).unlink(missing_ok=True)
        whole = replaying.pinned(at(opened, minutes))(*args, ok=True)
        said.append((resumed.stdout, resumed.stderr) == (whole.stdout, whole.stderr))
        assert snapshot(drill, run).is_file(), "a command that replayed the long record keeps a snapshot"
    assert all(said)
    ours, theirs = drill.events(run)[HISTORY + 1 :], replaying.events(run)[HISTORY + 1 :]
    assert [e["event"] for e in ours].count("deadline.breached") >= 2
    assert [{k: v for k, v in e.items() if k not in UNHASHED} for e in ours] == [
        {k: v for k, v in e.items() if k not in UNHASHED} for e in theirs
    ]


def test_a_snapshot_is_no_run_and_no_record_to_verify(drill: Drill, workspace: Path) -> None:
    run = drill.open()
    add_notes(workspace, run, HISTORY)
    drill("note", run, "keeps a snapshot", "--by", "bob", ok=True)
    assert snapshot(drill, run).is_file()
    assert [r["id"] for r in json.loads(drill("runs", "--json", ok=True).stdout)] == [run]
    verdicts = json.loads(drill("verify", "--all", "--json", ok=True).stdout)
    assert [(v["run"], v["verdict"]) for v in verdicts] == [(run, "open")]


def test_in_a_sealed_workspace_a_command_on_a_long_record_never_fails_after_its_write(
    drill: Drill, workspace: Path
) -> None:
    """Sealing looks at the record after a write only for what may follow an end: a line damaged
    before the snapshot (which a command reading on from it does not see) cannot make a written
    note fail and be written again on retry; `drill verify` names the line."""
    drill("keys", "init", ok=True)
    run = drill.open()
    add_notes(workspace, run, HISTORY)
    drill("note", run, "keeps a snapshot", "--by", "bob", ok=True)
    assert snapshot(drill, run).is_file()
    lines = drill.record(run).read_bytes().splitlines(keepends=True)
    lines[499] = b"#" * (len(lines[499]) - 1) + b"\n"  # the same length: the snapshot's line stays put
    drill.record(run).write_bytes(b"".join(lines))
    drill("note", run, "once", "--by", "bob", ok=True)
    assert drill.record(run).read_bytes().count(b'"text":"once"') == 1
    verdict = json.loads(drill("verify", run, "--json", ok=False).stdout)[0]
    assert (verdict["verdict"], verdict["line"]) == ("tampered", 500)
