"""Tamper evidence: any changed byte, deleted, duplicated or swapped line is `tampered` at the right line.

The 200-event record is built in-process (fast) and checked with `drillkit.store.verify.verify_file`
and the independent verifier; a few cases go through `drill verify` as a user would run it.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.model.clock import VirtualClock, parse_utc
from drillkit.services.runs import apply, open_incident
from drillkit.store.files import RunRecord
from drillkit.store.verify import verify_file
from tests.conftest import DRILL, FAKE_NOW, Drill, read_events
from tests.e2e.test_readonly_workspace import as_reader
from tests.independent_verifier import verify_bytes

EVENTS = 200


def build_record(root: Path, events: int = EVENTS) -> Path:
    """An ended record of exactly `events` events: run.started, notes (some Chinese), run.ended."""
    ws = Workspace(root)
    clock = VirtualClock(parse_utc(FAKE_NOW))
    run = open_incident(
        ws, clock, "core-network-outage", severity="II", by="alice", title=None, assignments=["noc=bob"]
    )
    for i in range(events - 2):
        clock.advance(1)
        text = f"step {i}: 核心网 MME 池恢复中" if i % 3 else f"step {i}"
        apply(ws, clock, run, lambda rs, text=text: decide.note(rs, text, "bob", None))  # type: ignore[misc]
    apply(ws, clock, run, lambda rs: decide.abort(rs, "alice", "exercise over"))
    path = ws.run_file(run)
    assert len(read_events(path)) == events
    return path


@pytest.fixture
def record(workspace: Path) -> Path:
    return build_record(workspace)


def mutant_path(tmp_path: Path, record: Path) -> Path:
    """Where a changed copy goes: same file name (the run id), another folder."""
    folder = tmp_path / "mutants"
    folder.mkdir(exist_ok=True)
    return folder / record.name


def line_of(data: bytes, position: int) -> int:
    """1-based number of the line holding byte `position` (a line's newline belongs to it)."""
    return data.count(b"\n", 0, position) + 1


def verdicts(path: Path, data: bytes) -> tuple[tuple[str, int | None, int], tuple[str, int | None]]:
    path.write_bytes(data)
    got = verify_file(path, None)
    ours = verify_bytes(data)
    return (got.verdict, got.line, got.torn_bytes), (ours.verdict, ours.line)


def assert_tampered_at(path: Path, data: bytes, line: int, what: str) -> None:
    (verdict, bad_line, _), ours = verdicts(path, data)
    assert (verdict, bad_line) == ("tampered", line), what
    assert ours == ("tampered", line), what


def test_intact_record_is_ok(record: Path) -> None:
    data = record.read_bytes()
    assert verdicts(record, data) == (("ok", None, 0), ("ok", None))


@pytest.mark.slow
def test_every_flipped_byte_is_caught_at_its_line(record: Path, tmp_path: Path) -> None:
    data = record.read_bytes()
    starts = [0, *[i + 1 for i, b in enumerate(data) if b == ord("\n")][:-1]]
    ends = [data.index(b"\n", s) + 1 for s in starts]
    assert len(starts) == EVENTS
    # every byte of the first note, a middle line and run.ended; every newline; a sample of line 1; random bytes
    positions = set(range(starts[1], ends[1])) | set(range(starts[100], ends[100])) | set(range(starts[-1], ends[-1]))
    positions |= {e - 1 for e in ends[:-1]} | set(range(0, ends[0], 7))
    rng = random.Random(20261129)
    positions |= set(rng.sample(range(len(data)), 4000))
    last_newline = len(data) - 1
    mutant = mutant_path(tmp_path, record)
    for position in sorted(positions):
        flips = [0x01] if position not in range(starts[100], ends[100]) else [0x01, 0x80, rng.randrange(1, 256)]
        for flip in flips:
            changed = bytearray(data)
            changed[position] ^= flip
            if position == last_newline:
                # the final newline gone: the last line is a torn tail, never an `ok` record
                (verdict, _, torn), ours = verdicts(mutant, bytes(changed))
                assert (verdict, torn, ours[0]) == ("open", ends[-1] - starts[-1], "open")
                continue
            assert_tampered_at(mutant, bytes(changed), line_of(data, position), f"byte {position} ^ {flip:#x}")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


@pytest.mark.slow
def test_every_deleted_duplicated_or_swapped_line_is_caught(record: Path, tmp_path: Path) -> None:
    lines = _lines(record.read_bytes())
    mutant = mutant_path(tmp_path, record)
    for i in range(EVENTS):  # 0-based index; the bad line is 1-based
        rest = lines[:i] + lines[i + 1 :]
        if i == EVENTS - 1:
            # dropping the last line leaves an intact shorter record: open, never ok
            (verdict, _, _), ours = verdicts(mutant, b"".join(rest))
            assert (verdict, ours[0]) == ("open", "open")
        else:
            assert_tampered_at(mutant, b"".join(rest), i + 1, f"line {i + 1} deleted")
        dup = [*lines[: i + 1], lines[i], *lines[i + 1 :]]
        assert_tampered_at(mutant, b"".join(dup), i + 2, f"line {i + 1} duplicated")
        if i + 1 < EVENTS:
            swapped = [*lines[:i], lines[i + 1], lines[i], *lines[i + 2 :]]
            assert_tampered_at(mutant, b"".join(swapped), i + 1, f"lines {i + 1} and {i + 2} swapped")


def test_a_rewritten_line_with_a_fresh_hash_breaks_the_chain(record: Path, tmp_path: Path) -> None:
    """Editing a line and recomputing its own hash is caught by the next line's `prev`."""
    import hashlib

    lines = _lines(record.read_bytes())
    body = lines[9][: lines[9].rindex(b',"hash":"')].replace(b"step 8", b"step X")
    lines[9] = body + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'
    assert_tampered_at(mutant_path(tmp_path, record), b"".join(lines), 11, "line 10 rewritten and rehashed")


CliMutation = Callable[[list[bytes]], list[bytes]]


@pytest.mark.parametrize(
    ("mutate", "bad_line"),
    [
        (lambda ls: [*ls[:4], ls[4].replace(b"step", b"stop", 1), *ls[5:]], 5),
        (lambda ls: ls[:6] + ls[7:], 7),
        (lambda ls: [*ls[:3], ls[2], *ls[3:]], 4),
        (lambda ls: [*ls[:7], ls[8], ls[7], *ls[9:]], 8),
    ],
    ids=["flipped", "deleted", "duplicated", "swapped"],
)
def test_drill_verify_names_the_first_bad_line(workspace: Path, mutate: CliMutation, bad_line: int) -> None:
    path = build_record(workspace, events=20)
    path.write_bytes(b"".join(mutate(_lines(path.read_bytes()))))
    drill = Drill(workspace)
    done = drill("verify", path.stem)
    assert done.returncode == 1
    assert f"tampered at line {bad_line}" in done.stdout
    report = json.loads(drill("verify", path.stem, "--json").stdout)
    assert [(v["verdict"], v["line"]) for v in report] == [("tampered", bad_line)]
    assert report[0]["problem"]


def test_drill_verify_all_reports_each_record(workspace: Path) -> None:
    good = build_record(workspace, events=5)
    bad = build_record(workspace, events=5)
    lines = _lines(bad.read_bytes())
    bad.write_bytes(b"".join([lines[0], lines[1].replace(b"step 0", b"step 9"), *lines[2:]]))
    done = Drill(workspace)("verify", "--all", "--json")
    assert done.returncode == 1
    report = {v["run"]: (v["verdict"], v["line"]) for v in json.loads(done.stdout)}
    assert report == {good.stem: ("ok", None), bad.stem: ("tampered", 2)}


UNREADABLE = [("record", 0o000, "record"), ("folder", 0o640, "record"), ("folder", 0o300, "folder")]


@pytest.mark.parametrize(("locked", "mode", "named"), UNREADABLE, ids=["record", "unsearchable", "unlisted"])
def test_a_record_the_user_may_not_read_is_an_error_not_tampering(
    workspace: Path, locked: str, mode: int, named: str
) -> None:
    record = build_record(workspace, events=4).resolve()
    target = record if locked == "record" else record.parent
    before = target.stat().st_mode
    target.chmod(mode)
    try:
        done = subprocess.run(
            as_reader([str(DRILL), "verify", "--all"]),
            capture_output=True,
            text=True,
            env=Drill(workspace).env(),
            check=False,
        )
    finally:
        target.chmod(before)
    shown = record if named == "record" else record.parent
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"drill: cannot verify {shown}: Permission denied; no verdict is given without reading it"
    ]


def test_hmac_chain_verifies_with_its_key_only(workspace: Path) -> None:
    (workspace / "key").write_bytes(b"s3cret-key-material")
    (workspace / "drill.toml").write_text('[integrity]\nkey_file = "key"\n', encoding="utf-8")
    drill = Drill(workspace)
    run = drill.open()
    drill("act", run, "acknowledge", "--by", "bob", ok=True)
    events = drill.events(run)
    assert events[0]["chain"] == "hmac-sha256"
    data = drill.record(run).read_bytes()
    assert verify_bytes(data, b"s3cret-key-material").verdict == "open"
    assert verify_bytes(data, None).verdict == "tampered"  # a plain SHA-256 chain it is not
    done = drill("verify", run, "--json", ok=True)
    assert [(v["verdict"], v["chain"]) for v in json.loads(done.stdout)] == [("open", "hmac-sha256")]
    assert drill("verify", run, ok=True).stdout.startswith(f"{run}: open — 2 events")
    (workspace / "key").write_bytes(b"the wrong key")
    done = drill("verify", run)
    assert done.returncode == 1
    assert "tampered at line 1" in done.stdout


def test_sha256_record_is_not_accepted_as_hmac(workspace: Path) -> None:
    """A key in drill.toml does not make a plain record fail, nor a plain one pass as keyed."""
    path = build_record(workspace, events=4)
    (workspace / "key").write_bytes(b"k")
    (workspace / "drill.toml").write_text('[integrity]\nkey_file = "key"\n', encoding="utf-8")
    assert read_events(path)[0]["chain"] == "sha256"
    done = Drill(workspace)("verify", path.stem, ok=True)
    assert f"{path.stem}: ok (plain SHA-256, not the workspace key) — 4 events" in done.stdout
    assert json.loads(Drill(workspace)("verify", path.stem, "--json", ok=True).stdout)[0]["chain"] == "sha256"


@pytest.mark.parametrize(
    ("kind", "verdict"),
    [
        ("annotation", "ok"),
        ("observation", "ok"),
        ("feedback", "ok"),
        ("notify.sent", "ok"),
        ("note", "tampered"),
        ("check.done", "tampered"),
    ],
)
def test_only_the_events_spec_allows_may_follow_the_end(workspace: Path, kind: str, verdict: str) -> None:
    """SPEC §4's after-end list, held alike by `drill verify` and the independent verifier."""
    record = build_record(workspace, events=3)
    late = {"event": kind, "actor": "alice", "role": None, "text": "after the end"}
    RunRecord(Workspace(workspace), record.stem).append(lambda events, now: [late], VirtualClock(parse_utc(FAKE_NOW)))
    ours, theirs = verify_file(record, None), verify_bytes(record.read_bytes())
    assert (ours.verdict, theirs.verdict) == (verdict, verdict)
    if verdict == "tampered":
        assert (ours.line, theirs.line) == (4, 4)
        assert "annotation" in str(ours.problem)  # it names what may follow
