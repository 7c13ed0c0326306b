"""A run's snapshot beside its record file (`<run>.jsonl.snapshot`): used only while it fits
the record, read past otherwise, never written through a link, never a failure of its own."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.model.errors import RecordError
from drillkit.store.files import FileRecordStore
from drillkit.store.port import Event
from tests.conftest import Drill, read_events
from tests.store.test_record_contract import Seen, kept_seq, note

CLOCK = SystemClock()


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


def kept_run(drill: Drill, ws: Workspace, notes: int = 3) -> str:
    """A run with `notes` notes and a snapshot kept at its last event (its seq as the bytes)."""
    run_id = drill.open()
    store = FileRecordStore(ws)
    for n in range(notes):
        store.append(run_id, note(f"note {n}"), CLOCK)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: str(last["seq"]).encode())
    return run_id


def snapshot_of(ws: Workspace, run_id: str) -> Path:
    return ws.run_file(run_id).with_name(f"{run_id}.jsonl.snapshot")


def seen_by_a_new_process(ws: Workspace, run_id: str) -> Seen:
    seen = Seen()
    FileRecordStore(ws).append_from_snapshot(run_id, kept_seq, seen.decide, CLOCK)
    return seen


def test_a_kept_snapshot_is_read_on_from(drill: Drill, ws: Workspace) -> None:
    run_id = kept_run(drill, ws)
    seen = seen_by_a_new_process(ws, run_id)
    assert (seen.kept, seen.seqs) == (4, [])
    assert [e["seq"] for e in read_events(ws.run_file(run_id))] == [1, 2, 3, 4, 5]


def _cut_kept_bytes(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1] + b"7")  # the caller's bytes, edited


def _rolled_back(path: Path) -> None:
    """The record cut back to its first two lines, as a restore from an older backup would."""
    record = path.with_name(path.name.removesuffix(".snapshot"))
    record.write_bytes(b"".join(record.read_bytes().splitlines(keepends=True)[:2]))


def _header_edited(path: Path) -> None:
    header, _, kept = path.read_bytes().partition(b"\n")
    path.write_bytes(header.replace(b'"seq":4', b'"seq":3') + b"\n" + kept)


def _repairs_edited(path: Path) -> None:
    """A count the next write relies on (how much of the `.torn` file is recorded), not checked
    against the record: the digest covers it."""
    header, _, kept = path.read_bytes().partition(b"\n")
    path.write_bytes(header.replace(b'"repaired":0', b'"repaired":9') + b"\n" + kept)


def _plainly_digested(body: bytes, kept: bytes) -> bytes:
    """A snapshot whose digest is plain SHA-256 (what anyone who can write `logs/runs` can make)."""
    return body + b',"digest":"' + hashlib.sha256(body + b"\n" + kept).hexdigest().encode() + b'"}\n' + kept


def _digest_remade_without_head(path: Path) -> None:
    """A header of another shape whose digest is right (a plain run's digest needs no key)."""
    header, _, kept = path.read_bytes().partition(b"\n")
    fields = json.loads(header)
    del fields["head"], fields["digest"]
    path.write_bytes(_plainly_digested(json.dumps(fields, separators=(",", ":")).encode()[:-1], kept))


def _not_json(path: Path) -> None:
    path.write_bytes(b"\x00\x01 not a snapshot")


def _a_pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.parametrize(
    "spoil",
    [_cut_kept_bytes, _rolled_back, _header_edited, _repairs_edited, _digest_remade_without_head, _not_json, _a_pipe],
    ids=[
        "its bytes edited",
        "the record rolled back",
        "its header edited",
        "its count of repairs edited",
        "a header of another shape",
        "not a snapshot",
        "a pipe in its place",
    ],
)
def test_a_snapshot_that_does_not_fit_the_record_is_read_past(
    drill: Drill, ws: Workspace, spoil: Callable[[Path], None]
) -> None:
    run_id = kept_run(drill, ws)
    spoil(snapshot_of(ws, run_id))
    seen = seen_by_a_new_process(ws, run_id)
    assert seen.kept is None
    assert seen.seqs == list(range(1, len(read_events(ws.run_file(run_id))))), "every event but the one written"


def test_a_record_rewritten_since_does_not_take_the_snapshot(drill: Drill, ws: Workspace) -> None:
    """Restored from an older copy, then written on differently: the snapshot's seq is there
    again, at the same place, but it is another line."""
    run_id = drill.open()
    store = FileRecordStore(ws)
    store.append(run_id, note("one"), CLOCK)
    older = ws.run_file(run_id).read_bytes()
    store.append(run_id, note("two"), CLOCK)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: b"3")
    ws.run_file(run_id).write_bytes(older)
    FileRecordStore(ws).append(run_id, note("owt"), CLOCK)  # as long as "two", at seq 3 too
    seen = seen_by_a_new_process(ws, run_id)
    assert (seen.kept, seen.seqs) == (None, [1, 2, 3])


def test_a_torn_tail_after_a_snapshot_is_set_aside_and_recorded(drill: Drill, ws: Workspace) -> None:
    run_id = kept_run(drill, ws)
    with ws.run_file(run_id).open("ab") as record:
        record.write(b'{"v":1,"seq":5,"te')
    seen = seen_by_a_new_process(ws, run_id)
    assert (seen.kept, seen.seqs) == (4, [])
    events = read_events(ws.run_file(run_id))
    assert [(e["seq"], e["event"]) for e in events[4:]] == [(5, "record.repaired"), (6, "note")]
    assert ws.run_file(run_id).with_name(f"{run_id}.jsonl.torn").read_bytes() == b'{"v":1,"seq":5,"te\n'


def test_a_repair_before_a_snapshot_is_not_recorded_again_after_it(drill: Drill, ws: Workspace) -> None:
    run_id = drill.open()
    with ws.run_file(run_id).open("ab") as record:
        record.write(b'{"v":1,"seq":2,"te')
    store = FileRecordStore(ws)
    store.append(run_id, note("repairs"), CLOCK)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: str(last["seq"]).encode())
    assert seen_by_a_new_process(ws, run_id).kept == 3
    kinds = [e["event"] for e in read_events(ws.run_file(run_id))]
    assert kinds.count("record.repaired") == 1


def test_a_link_planted_where_the_snapshot_goes_is_replaced_not_written_through(
    drill: Drill, ws: Workspace, tmp_path: Path
) -> None:
    run_id = drill.open()
    outside = tmp_path / "outside"
    outside.write_bytes(b"untouched")
    snapshot_of(ws, run_id).symlink_to(outside)
    store = FileRecordStore(ws)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: b"1")
    assert outside.read_bytes() == b"untouched"
    assert not snapshot_of(ws, run_id).is_symlink()
    assert seen_by_a_new_process(ws, run_id).kept == 1


def test_a_snapshot_that_cannot_be_written_fails_nothing(drill: Drill, ws: Workspace) -> None:
    run_id = drill.open()
    snapshot_of(ws, run_id).mkdir()
    store = FileRecordStore(ws)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: b"1")
    assert seen_by_a_new_process(ws, run_id).kept is None
    assert sorted(p.name for p in ws.runs.iterdir()) == sorted([f"{run_id}.jsonl", f"{run_id}.jsonl.snapshot"])


def test_the_decision_on_a_snapshot_is_taken_again_on_the_whole_record_when_it_moved(
    drill: Drill, ws: Workspace
) -> None:
    """A record replaced between the look at the snapshot and the lock (it never is under the
    lock) is still read whole: the reader checks the file it resumed from on every read."""
    run_id = kept_run(drill, ws)
    store = FileRecordStore(ws)
    handed: list[tuple[int | None, list[int]]] = []

    def decide(kept: int | None, events: list[Event], now: datetime) -> list[Event]:
        handed.append((kept, [e["seq"] for e in events]))
        return []

    store.append_from_snapshot(run_id, kept_seq, decide, CLOCK)
    store.append(run_id, note("full"), CLOCK)  # `append` reads the whole record
    store.append_from_snapshot(run_id, kept_seq, decide, CLOCK)
    assert handed == [(4, []), (None, [1, 2, 3, 4, 5])]


def test_a_snapshot_of_a_keyed_run_cannot_be_forged_without_the_key(drill: Drill, ws: Workspace) -> None:
    """Its digest is the run's own HMAC: one remade with plain SHA-256, as anyone who can write
    `logs/runs` could, is read past."""
    (ws.root / "drill.key").write_bytes(b"s3cret-key-material")
    (ws.root / "drill.toml").write_text('[integrity]\nkey_file = "drill.key"\n', encoding="utf-8")
    run_id = kept_run(drill, ws)
    assert seen_by_a_new_process(ws, run_id).kept == 4  # kept with the key, it is read on from
    path = snapshot_of(ws, run_id)
    header = path.read_bytes().partition(b"\n")[0]
    path.write_bytes(_plainly_digested(header[: header.rfind(b',"digest":"')], b"9"))  # a state never decided on
    assert seen_by_a_new_process(ws, run_id).kept is None


def test_a_snapshot_is_0640_whatever_the_umask(drill: Drill, ws: Workspace) -> None:
    old = os.umask(0o077)
    try:
        run_id = kept_run(drill, ws)
    finally:
        os.umask(old)
    assert stat.S_IMODE(snapshot_of(ws, run_id).stat().st_mode) == 0o640


def test_a_bad_line_after_a_snapshot_is_named_by_its_line_in_the_record(drill: Drill, ws: Workspace) -> None:
    run_id = kept_run(drill, ws)
    with ws.run_file(run_id).open("ab") as record:
        record.write(b"not json\n")
    with pytest.raises(RecordError, match=f"line 5 of the record of {run_id} is not a JSON object"):
        seen_by_a_new_process(ws, run_id)


def test_a_snapshot_a_kill_left_half_written_is_replaced_not_left_beside(drill: Drill, ws: Workspace) -> None:
    run_id = drill.open()
    half = ws.runs / f".{run_id}.snapshot.new"
    half.write_bytes(b'{"format":2,"seq"')  # a process killed while writing it
    store = FileRecordStore(ws)
    last = store.read(run_id)[-1]
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: b"1")
    assert sorted(p.name for p in ws.runs.iterdir()) == [f"{run_id}.jsonl", f"{run_id}.jsonl.snapshot"]
    assert seen_by_a_new_process(ws, run_id).kept == 1


def test_a_keyed_run_whose_key_drill_toml_lost_keeps_no_snapshot_and_fails_nothing(drill: Drill, ws: Workspace) -> None:
    keyed = '[integrity]\nkey_file = "drill.key"\n'
    (ws.root / "drill.key").write_bytes(b"s3cret-key-material")
    (ws.root / "drill.toml").write_text(keyed, encoding="utf-8")
    run_id = drill.open()
    store = FileRecordStore(ws)
    last = store.read(run_id)[-1]
    (ws.root / "drill.toml").write_text("", encoding="utf-8")  # lost between a write and its snapshot
    store.keep_snapshot(run_id, last["seq"], last["hash"], lambda: b"1")
    assert not snapshot_of(ws, run_id).exists()
    (ws.root / "drill.toml").write_text(keyed, encoding="utf-8")  # for the verifiers at teardown
