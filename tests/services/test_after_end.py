"""Notification outcomes recorded after `run.ended`: the run still reads as ended everywhere."""

from __future__ import annotations

import json

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock, parse_utc
from drillkit.store.files import RunRecord
from tests.conftest import FAKE_NOW, Drill


def test_an_outcome_after_the_end_leaves_the_run_ended(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("abort", run_id, "--by", "alice", "--reason", "exercise called off", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    outcome = {
        "event": "notify.sent",
        "actor": "system",
        "role": None,
        "notifier": "noc",
        "of": 2,
        "attempts": 1,
        "error": None,
    }
    RunRecord(Workspace(drill.root), run_id).append(lambda events, now: [outcome], VirtualClock(parse_utc(FAKE_NOW)))
    assert drill.events(run_id)[-1]["event"] == "notify.sent"

    listed = json.loads(drill("runs", "--json", ok=True).stdout)
    assert [(r["id"], r["outcome"]) for r in listed] == [(run_id, "aborted")]
    assert json.loads(drill("status", "--json", ok=True).stdout) == []
    verdicts = json.loads(drill("verify", run_id, "--json", ok=True).stdout)
    assert verdicts[0]["verdict"] == "ok"
    document = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)
    ended = next(e for e in document["events"] if e["event"] == "run.ended")
    assert document["run"]["ended"] == ended["ts"]
    assert document["run"]["outcome"] == "aborted"
