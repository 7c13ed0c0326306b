"""Records that are not runs: every command says so in one line; listings go on without them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Drill, rechained

BAD_ID = "20261129T000000Z-core-network-outage-0005"
DRILL = Path(sys.executable).with_name("drill")


@pytest.fixture
def broken(tmp_path: Path) -> Drill:
    """A workspace with one good incident; its records are not double-verified (some are broken on purpose)."""
    root = tmp_path / "ws"
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True)
    return Drill(root)


@pytest.mark.parametrize(
    "content",
    [b"", b'{"event":"run.started"}\n', b"[1,2]\n", b'{"v":1,"seq":1,"event":"note"}\n', b"\xff\xfe\n"],
    ids=["empty", "partial-started", "list", "not-started", "not-utf8"],
)
def test_a_broken_record_is_named_not_crashed_on(broken: Drill, content: bytes) -> None:
    good = broken.open()
    (broken.root / "logs" / "runs" / f"{BAD_ID}.jsonl").write_bytes(content)
    for listing in (
        ["runs", "--json"],
        ["status", "--json"],
        ["coverage", "--json"],
        ["playbooks", "--json"],
        ["report", "--format", "json", "--include-drills"],
    ):
        done = broken(*listing)
        assert "internal error" not in done.stderr, (listing, done.stderr)
        json.loads(done.stdout)
    listed = broken("runs", "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [good]
    assert listed.stderr.splitlines() == [
        f"drill: 1 record(s) left out, not readable as runs: {BAD_ID}.jsonl (see `drill verify --all`)"
    ]
    assert json.loads(broken("report", "--format", "json").stdout)["left_out"] == [BAD_ID]
    assert "1 record(s) left out: not readable as runs" in broken("report", "--format", "md").stdout
    for command in (
        ["status", BAD_ID],
        ["timeline", BAD_ID],
        ["export", BAD_ID, "--format", "json"],
        ["note", BAD_ID, "hello"],
        ["resume", BAD_ID],
    ):
        done = broken(*command)
        assert done.returncode in (1, 2), (command, done.returncode)
        assert len(done.stderr.strip().splitlines()) == 1, (command, done.stderr)
        assert "internal error" not in done.stderr
    verdicts = {v["run"]: v["verdict"] for v in json.loads(broken("verify", "--all", "--json").stdout)}
    assert verdicts == {good: "open", BAD_ID: "tampered"}


def test_a_folder_in_place_of_a_record_is_reported(broken: Drill) -> None:
    good = broken.open()
    record = broken.root / "logs" / "runs" / f"{BAD_ID}.jsonl"
    record.mkdir(parents=True)
    done = broken("verify", "--all", "--json")
    assert done.returncode == 2  # not tampering: there is no record to check
    assert [(v["run"], v["verdict"]) for v in json.loads(done.stdout)] == [(good, "open")]  # the others are checked
    assert done.stderr.splitlines() == [
        f"drill: cannot verify {record.resolve()}: Is a directory; no verdict is given without reading it"
    ]
    done = broken("note", BAD_ID, "hello")
    assert done.returncode == 1
    assert "cannot" in done.stderr


def test_a_run_id_with_a_trailing_newline_is_not_a_run_id(broken: Drill) -> None:
    run_id = broken.open()
    done = broken("status", run_id + "\n")
    assert done.returncode == 2
    assert "is not a run id" in done.stderr


def test_control_characters_in_notes_and_names_never_reach_the_terminal(broken: Drill) -> None:
    run_id = broken.open()
    done = broken("note", run_id, "x\x1b[31mred\x07", "--by", "carol")
    assert done.returncode == 0
    assert "\x1b" not in done.stderr
    assert "\\x1b[31mred" in done.stderr
    for command in (["timeline", run_id], ["status", run_id], ["runs"]):
        shown = broken(*command)
        assert "\x1b" not in shown.stdout + shown.stderr, command
    assert any(e.get("text") == "x\x1b[31mred\x07" for e in broken.events(run_id))  # the record keeps it as said


def test_one_damaged_open_run_leaves_the_others_shown_and_conducted(broken: Drill) -> None:
    opened, later = "2026-11-29T08:00:00Z", "2026-11-29T09:00:00Z"
    healthy, damaged = broken.open(DRILL_FAKE_NOW=opened), broken.open(DRILL_FAKE_NOW=opened)
    broken("note", damaged, "line two, soon damaged", "--by", "bob", ok=True, DRILL_FAKE_NOW=opened)
    record = broken.record(damaged)
    lines = record.read_bytes().splitlines(keepends=True)
    record.write_bytes(b"".join([lines[0], b"not json\n", *lines[2:]]))
    reason = f"line 2 of the record of {damaged} is not a JSON object (run `drill verify`)"

    status = broken("status", "--json", DRILL_FAKE_NOW=opened)
    assert status.returncode == 1
    assert [doc["run"] for doc in json.loads(status.stdout)] == [healthy]
    assert status.stderr.strip() == f"drill: {reason}"

    scheduler = broken("scheduler", "--once", DRILL_FAKE_NOW=later)
    assert scheduler.returncode == 1
    assert scheduler.stderr.strip().endswith("1 dropped (record unreadable)")
    log = [json.loads(line) for line in (broken.root / "logs" / "scheduler.jsonl").read_text().splitlines()]
    assert {"run": damaged, "error": reason, "event": "run.dropped"}.items() <= next(
        entry for entry in log if entry.get("run") == damaged
    ).items()
    assert "deadline.breached" in [e["event"] for e in broken.events(healthy)]  # conducted all the same


def test_a_record_that_is_a_link_out_of_the_workspace_is_not_appended_through(broken: Drill, tmp_path: Path) -> None:
    run = broken.open()
    record = broken.record(run)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(record.read_bytes())
    record.unlink()
    record.symlink_to(outside)
    before = outside.read_bytes()
    done = broken("note", run, "hello")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"drill: cannot open the record of {run}: it is a symbolic link, and drill appends only to its own files"
    ]
    assert outside.read_bytes() == before


def test_a_line_edited_so_it_cannot_be_replayed_is_named_and_leaves_the_others_be(broken: Drill) -> None:
    opened, later = "2026-11-29T08:00:00Z", "2026-11-29T09:00:00Z"
    healthy, damaged = broken.open(DRILL_FAKE_NOW=opened), broken.open(DRILL_FAKE_NOW=opened)
    broken("act", damaged, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=opened)
    record = broken.record(damaged)
    *earlier, last = record.read_bytes().splitlines(keepends=True)
    record.write_bytes(b"".join([*earlier, last.replace(b'"to":"triage",', b"")]))  # still JSON, not a transition
    reason = f"the record of {damaged} cannot be replayed at seq 2: missing 'to' (see drill verify)"

    status = broken("status", "--json", DRILL_FAKE_NOW=opened)
    assert (status.returncode, status.stderr) == (1, f"drill: {reason}\n")
    assert [doc["run"] for doc in json.loads(status.stdout)] == [healthy]
    report = broken("report", "--format", "json", DRILL_FAKE_NOW=later)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["left_out"] == [damaged]
    scheduler = broken("scheduler", "--once", DRILL_FAKE_NOW=later)
    assert scheduler.returncode == 1
    assert "deadline.breached" in [e["event"] for e in broken.events(healthy)]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ((b'"to":"triage"', b'"to":"nowhere"'), "seq 2: unknown state 'nowhere'"),
        ((b'"ts":"', b'"ts":null,"was":"'), "seq 1: "),
    ],
    ids=["state", "time"],
)
def test_a_line_rechained_with_a_value_the_playbook_lacks_is_named_at_its_seq(
    broken: Drill, edit: tuple[bytes, bytes], says: str
) -> None:
    """A plain chain can be recomputed after an edit (`verify` cannot tell): a state the playbook
    does not have, or a time that is not one, is still refused where it is replayed, in one line."""
    run = broken.open()
    broken("act", run, "acknowledge", "--by", "bob", ok=True)
    record = broken.record(run)
    lines = [json.loads(line) for line in record.read_bytes().replace(*edit).splitlines()]
    record.write_bytes(rechained(lines))
    for command in (("status", run), ("note", run, "still there?", "--by", "bob")):
        done = broken(*command)
        assert done.returncode == 1
        assert done.stderr.startswith(f"drill: the record of {run} cannot be replayed at {says}"), done.stderr
        assert len(done.stderr.splitlines()) == 1


def _damaged(playbook: dict[str, Any], part: str) -> None:
    """The playbook's copy in a record, edited out of shape in one `part`."""
    state = next(iter(playbook["states"].values()))
    if part == "roles":
        playbook["roles"] = 5
    elif part == "flag":
        state["initial"] = "yes"
    elif part == "extra-key":
        playbook["transitions"][0]["by"] = "x"
    elif part == "kind":
        playbook["kind"] = "flood"
    else:
        state["deadline"] = {"default": "soon"}


@pytest.mark.parametrize(
    ("part", "says"),
    [
        ("roles", "roles: expected a mapping"),
        ("flag", ".initial: expected true or false"),
        ("extra-key", "transitions.0: unknown key 'by'"),
        ("kind", "kind: expected 'outage' or 'security'"),
        ("duration", ".deadline.default: duration 'soon' is not valid"),
    ],
)
def test_a_damaged_copy_of_the_playbook_is_refused_by_name(broken: Drill, part: str, says: str) -> None:
    """A record carries its playbook: a copy edited out of shape is refused in one line, not half-read."""
    run = broken.open()
    record = broken.record(run)
    first, *rest = record.read_bytes().splitlines(keepends=True)
    started = json.loads(first)
    _damaged(started["playbook"], part)
    record.write_bytes(b"".join([json.dumps(started, ensure_ascii=False).encode() + b"\n", *rest]))

    status = broken("status", run)
    assert status.returncode == 1
    assert status.stderr.startswith(f"drill: the record of {run} cannot be replayed at seq 1: ")
    assert says in status.stderr
    assert len(status.stderr.splitlines()) == 1
