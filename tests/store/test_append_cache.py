"""A process that appends again and again reads only what is new, and still sees other writers."""

from __future__ import annotations

import errno
import os
from functools import partial
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.model.clock import SystemClock
from drillkit.model.errors import Rejected
from drillkit.services.runs import apply
from drillkit.services.simulate import simulate
from drillkit.store.files import NO_ATIME, RunRecord
from tests.conftest import Drill


def test_an_act_by_another_process_is_seen_by_the_next_in_process_append(drill: Drill) -> None:
    ws, clock = Workspace(drill.root), SystemClock()
    run_id = drill.open()
    apply(ws, clock, run_id, lambda rs: decide.note(rs, "first look", "alice", None))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True)
    with pytest.raises(Rejected, match="not valid in state 'triage'"):
        apply(ws, clock, run_id, lambda rs: decide.act(rs, "acknowledge", "bob", None, None))
    apply(ws, clock, run_id, lambda rs: decide.check(rs, "bridge", "alice", None, None))
    drill("act", run_id, "mitigate", "--by", "bob", ok=True)
    written = apply(ws, clock, run_id, lambda rs: decide.act(rs, "resolve", "alice", None, "all clear"))
    assert [e["event"] for e in written] == ["transition", "run.ended"]
    seqs = [e["seq"] for e in drill.events(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_record_replaced_under_the_same_name_is_read_again(drill: Drill) -> None:
    ws, clock = Workspace(drill.root), SystemClock()
    run_id = drill.open()
    for text in ("one", "two", "three"):
        apply(ws, clock, run_id, partial(decide.note, text=text, by="alice", role=None))
    path = drill.record(run_id)
    restored = path.with_name("restored")
    restored.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
    os.replace(restored, path)  # an older copy, as a new file, under the same name
    written = apply(ws, clock, run_id, lambda rs: decide.note(rs, "after the restore", "alice", None))
    events = drill.events(run_id)
    assert written[0]["seq"] == 3
    assert written[0]["prev"] == events[1]["hash"]


def test_the_events_a_write_returns_are_what_a_reader_parses_from_the_record(drill: Drill) -> None:
    """Writers hand back the events they rendered instead of parsing their own lines again:
    every kind of event, masked text and embedded plans included, must come out the same."""
    ws, clock = Workspace(drill.root), SystemClock()
    simulation = simulate(ws, clock, "core-outage-q4")
    assert simulation.events == RunRecord(ws, simulation.run_id).read()
    run_id = drill.open()
    written = [
        *apply(ws, clock, run_id, partial(decide.note, text="call 13812345678 or a@b.cn", by="bob", role=None)),
        *apply(ws, clock, run_id, lambda rs: decide.act(rs, "acknowledge", "bob", None, "on it")),
        *apply(ws, clock, run_id, lambda rs: decide.check(rs, "bridge", "alice", None, None)),
        *apply(ws, clock, run_id, lambda rs: decide.severity(rs, "I", "alice", "two provinces down")),
    ]
    events = RunRecord(ws, run_id).read()
    assert written == events[-len(written) :]
    assert "138****5678" in written[0]["text"]


@pytest.mark.skipif(not NO_ATIME, reason="O_NOATIME is Linux's")
def test_an_append_leaves_the_records_access_time_as_it_was(drill: Drill) -> None:
    """Reading the tail under the lock does not touch the access time (an inode left clean until the write)."""
    ws, clock = Workspace(drill.root), SystemClock()
    run_id = drill.open()
    path = drill.record(run_id)
    os.utime(path, ns=(1_000_000_000, path.stat().st_mtime_ns))  # older than the last change: relatime would update it
    apply(ws, clock, run_id, lambda rs: decide.note(rs, "first look", "alice", None))
    assert path.stat().st_atime_ns == 1_000_000_000
    assert drill.events(run_id)[-1]["text"] == "first look"


def test_a_record_the_system_refuses_o_noatime_for_is_appended_to_all_the_same(
    drill: Drill, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O_NOATIME is for the file's owner only: a teammate's record is appended to without it."""
    ws, clock = Workspace(drill.root), SystemClock()
    run_id = drill.open()
    real_open = os.open

    def not_the_owner(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & NO_ATIME:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", not_the_owner)
    apply(ws, clock, run_id, lambda rs: decide.note(rs, "first look", "alice", None))
    monkeypatch.undo()
    assert drill.events(run_id)[-1]["text"] == "first look"
