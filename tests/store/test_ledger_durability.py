"""The corrective actions' ledger keeps the run record's promise about torn tails (SPEC §4, §10):
a process killed between setting a torn tail aside to `actions.jsonl.torn` and writing its append
leaves bytes there that the next `drill action …` records as `record.repaired`, each tail once,
whichever step the kill came after."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Drill, read_events
from tests.e2e.test_verify_actions import ledger, with_actions

TORN = b'{"v":1,"seq":4,"ts":'


def aside(drill: Drill) -> Path:
    return ledger(drill).with_name("actions.jsonl.torn")


def tear(drill: Drill, torn: bytes = TORN) -> None:
    with ledger(drill).open("ab") as tail:
        tail.write(torn)


def update(drill: Drill, note: str) -> None:
    drill("action", "update", "A-2", "--status", "in-progress", "--note", note, "--by", "alice", ok=True)


def kinds(drill: Drill) -> list[tuple[str, int | None]]:
    return [(e["event"], e.get("bytes")) for e in read_events(ledger(drill))]


def assert_verified(drill: Drill, events: int) -> None:
    done = drill("verify", "actions", ok=True)
    assert done.stdout.startswith(f"actions: ok — {events} events, head ")


BEFORE = [("action.opened", None), ("action.opened", None), ("action.updated", None)]


def test_a_tail_set_aside_but_not_yet_cut_is_set_aside_once_and_recorded_once(drill: Drill) -> None:
    """Killed after writing `.torn`, before cutting the ledger: the tail is in both."""
    with_actions(drill)
    tear(drill)
    aside(drill).write_bytes(TORN + b"\n")
    update(drill, "after the kill")
    assert aside(drill).read_bytes() == TORN + b"\n"
    assert kinds(drill) == [*BEFORE, ("record.repaired", len(TORN)), ("action.updated", None)]
    assert_verified(drill, 5)


def test_a_tail_set_aside_and_cut_but_not_recorded_is_recorded_once(drill: Drill) -> None:
    """Killed after cutting the ledger, before the append that records the repair."""
    with_actions(drill)
    aside(drill).write_bytes(TORN + b"\n")
    update(drill, "after the kill")
    update(drill, "and once more")
    assert aside(drill).read_bytes() == TORN + b"\n"
    assert kinds(drill) == [*BEFORE, ("record.repaired", len(TORN)), ("action.updated", None), ("action.updated", None)]
    assert_verified(drill, 6)


def test_a_later_torn_tail_is_added_to_the_ones_recorded_before(drill: Drill) -> None:
    """The bytes the `record.repaired` events account for are counted, so a new tail is set aside
    after them and recorded alone."""
    with_actions(drill)
    aside(drill).write_bytes(TORN + b"\n")
    update(drill, "after the kill")
    tear(drill, b'{"v":1,"se')
    update(drill, "after a second tear")
    assert aside(drill).read_bytes() == TORN + b'\n{"v":1,"se\n'
    repairs = [count for kind, count in kinds(drill) if kind == "record.repaired"]
    assert repairs == [len(TORN), 10]
    assert_verified(drill, 7)
