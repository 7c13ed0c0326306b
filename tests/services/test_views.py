"""The services behind the showing commands: who acts, what `status` and `verify` answer, and
the exit codes they settle (the CLI only renders them)."""

from __future__ import annotations

import json

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


def test_runs_shows_each_runs_outcome_breaches_and_verdict(drill: Drill, kept_in: dict[str, str]) -> None:
    """The same in files and in the team store (SPEC §8: every command of §5 over both)."""
    drill("simulate", "core-outage-q4", ok=True, **kept_in)  # one breach, allowed by the scenario; every target met
    drill("simulate", "dns-outage-late-ack", ok=False, **kept_in)  # the acknowledgement never came
    open_run = drill.open(DRILL_FAKE_NOW=FAKE_NOW, **kept_in)
    listed = {r["scenario"] or r["id"]: r for r in json.loads(drill("runs", "--json", ok=True, **kept_in).stdout)}
    met, missed, pending = listed["core-outage-q4"], listed["dns-outage-late-ack"], listed[open_run]
    assert (met["outcome"], met["verdict"], met["met"], met["judged"], met["breaches"]) == ("resolved", "met", 5, 5, 1)
    assert (missed["verdict"], missed["met"], missed["judged"], missed["breaches"]) == ("missed", 4, 6, 2)
    assert (pending["outcome"], pending["verdict"], pending["breaches"]) == (None, "pending", 0)
    header, _rule, *rows = drill("runs", ok=True, **kept_in).stdout.splitlines()
    assert header.split() == ["run", "mode", "playbook", "severity", "started", "outcome", "breaches", "verdict"]
    shown = {row.split()[0]: row for row in rows}
    assert shown[met["id"]].endswith("resolved  1         met (5/5)")
    assert shown[missed["id"]].endswith("resolved  2         missed (4/6)")
    assert shown[open_run].endswith("open      0         pending")
