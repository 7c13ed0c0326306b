"""The services behind the showing commands: who acts, what `status` and `verify` answer, and
the exit codes they settle (the CLI only renders them)."""

from __future__ import annotations

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock, parse_utc
from drillkit.model.errors import UsageError
from drillkit.services.people import acting_person
from drillkit.services.review import verify_runs
from drillkit.services.views import statuses
from tests.conftest import FAKE_NOW, Drill


def test_by_comes_before_drill_user_and_a_blank_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_USER", "dora")
    assert acting_person(None).offered[0] == ("$DRILL_USER", "dora")
    assert acting_person("erin").given == "erin"
    with pytest.raises(UsageError, match="--by"):
        acting_person(" ")


def test_status_of_a_named_run_is_its_document_and_of_none_a_list(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    ws, clock, told = Workspace(drill.root), VirtualClock(parse_utc(FAKE_NOW)), list[str]()
    one = statuses(ws, clock, run_id, told.append)
    every = statuses(ws, clock, None, told.append)
    assert one.document() == every.documents[0]
    assert every.document() == every.documents
    assert [doc["run"] for doc in every.documents] == [run_id]
    assert (one.exit_code, every.exit_code, told) == (0, 0, [])


def test_a_tampered_record_exits_1_and_an_open_one_0(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run_id, "first look", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    ws = Workspace(drill.root)
    intact = verify_runs(ws, [run_id])
    assert (intact.exit_code, [v["verdict"] for v in intact.document()]) == (0, ["open"])
    record = drill.record(run_id)
    record.write_bytes(record.read_bytes().replace(b"first look", b"first hook"))
    tampered = verify_runs(ws, [])
    assert (tampered.exit_code, [v.line for v in tampered.verdicts]) == (1, [2])
