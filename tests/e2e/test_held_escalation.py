"""An `on_deadline` escalation its checklist items hold back, through the CLI (SPEC §2, §4): at the
deadline only the breach is written; the escalation stays owed while the run is in the state and
is written right after the check that allows it, in the same command; it is never written once
the run has left the state. A live drill, `drill simulate`, catch-up, `drill replay` and `drill
forecast` all keep that rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock
from drillkit.store.files import FileRecordStore
from tests.conftest import Drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
GATED = """\
playbook: gated
title: An escalation that needs the bridge open
kind: outage
version: 1
severities: {II: {label: Major}}
roles: {lead: On-call lead, noc: NOC engineer}
states:
  triage:
    initial: true
    owner: noc
    deadline: 5m
    on_deadline: escalate
    checklist: {bridge: Open the incident bridge}
  working: {owner: noc}
  escalated: {owner: lead}
  resolved: {final: true}
transitions:
  - {trigger: escalate, from: triage, to: escalated, requires: [bridge]}
  - {trigger: work, from: triage, to: working}
  - {trigger: resolve, from: [working, escalated], to: resolved, roles: [lead]}
  - {trigger: back, from: working, to: triage}
metrics:
  time_to_escalate: {from: triage, to: escalated, owner: lead}
"""
DRILL_SCENARIO = """\
scenario: gated-drill
title: The bridge opened late
playbook: gated
severity: II
form: functional
participants: {lead: alice, noc: bob}
time_limit: 1h
allow_breaches: ["state:triage"]
injects:
  - {id: alarm, at: 0m, message: "MME pool BJ-3 unreachable"}
script:
  - {at: 9m, by: bob, check: bridge}
  - {at: 30m, by: alice, trigger: resolve}
"""


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def gated(drill: Drill) -> Drill:
    (drill.root / "playbooks" / "gated.yaml").write_text(GATED, encoding="utf-8")
    (drill.root / "scenarios" / "gated-drill.yaml").write_text(DRILL_SCENARIO, encoding="utf-8")
    return drill


def opened(drill: Drill) -> str:
    """An incident opened at T+0 whose deadline passed with the bridge closed (caught up at T+7m)."""
    run = drill.open("--as", "lead=alice", "--as", "noc=bob", playbook="gated", DRILL_FAKE_NOW=at(0))
    drill("note", run, "looking into it", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(7))
    return run


def system_moves(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["trigger"], e["from"], e["to"], e["t"], e["due"], e["late_by"])
        for e in events
        if e["event"] == "transition" and e["actor"] == "system"
    ]


def test_at_the_deadline_only_the_breach_is_written_and_the_check_brings_the_escalation(gated: Drill) -> None:
    run = opened(gated)
    breach = gated.events(run)[1]
    assert (breach["event"], breach["state"], breach["due"], breach["late_by"]) == (
        "deadline.breached",
        "triage",
        300,
        120,
    )
    assert system_moves(gated.events(run)) == []  # the bridge is closed: held back
    done = gated("check", run, "bridge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(9))
    check, move = gated.events(run)[-2:]
    assert (check["event"], check["item"], move["req"]) == ("check.done", "bridge", check["req"])  # one command
    assert system_moves([move]) == [("escalate", "triage", "escalated", 540, 540, 0)]
    assert "#5 T+00:09:00 transition by system: escalate: triage -> escalated" in done.stderr
    status = json.loads(gated("status", run, "--json", ok=True, DRILL_FAKE_NOW=at(30)).stdout)
    assert status["state"] == "escalated"
    assert len(gated.events(run)) == 5  # fired once


def test_a_check_after_the_run_left_the_state_never_escalates(gated: Drill) -> None:
    stayed, left = opened(gated), opened(gated)
    gated("act", left, "work", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(8))
    for run in (stayed, left):
        gated("check", run, "bridge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(9))
        gated("status", run, ok=True, DRILL_FAKE_NOW=at(60))
    assert system_moves(gated.events(stayed)) == [("escalate", "triage", "escalated", 540, 540, 0)]
    assert system_moves(gated.events(left)) == []
    assert gated.events(left)[-1]["event"] == "check.done"


def held_by_an_earlier_version(drill: Drill) -> str:
    """A record whose bridge was checked at T+9m with no escalation after it, as drillkit wrote
    it before the rule: its check appended straight to the record."""
    run = opened(drill)
    check = {"event": "check.done", "actor": "bob", "role": "noc", "item": "bridge", "state": "triage", "note": None}
    store = FileRecordStore(Workspace(drill.root))
    store.append(run, lambda _events, _now: [check], VirtualClock(START + timedelta(minutes=9)))
    return run


@pytest.mark.parametrize(
    "look", [("status", "{run}"), ("scheduler", "--once")], ids=["the next command", "the scheduler's conductor"]
)
def test_an_escalation_owed_while_nothing_watched_is_written_late_by_whatever_looks_next(
    gated: Drill, look: tuple[str, ...]
) -> None:
    run = held_by_an_earlier_version(gated)
    gated(*(arg.format(run=run) for arg in look), ok=True, DRILL_FAKE_NOW=at(12))
    assert system_moves(gated.events(run)) == [("escalate", "triage", "escalated", 720, 540, 180)]
    rows = json.loads(gated("timeline", run, "--json", ok=True, DRILL_FAKE_NOW=at(13)).stdout)["rows"]
    assert rows[-1]["detail"].endswith("(took effect at T+00:09:00)")


def comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    fields = ("event", "actor", "t", "due", "late_by", "state", "item", "trigger", "to")
    return [tuple(e.get(name) for name in fields) for e in events[1:]]


def test_a_live_drill_records_what_its_simulation_records(gated: Drill) -> None:
    """Conducted by the scheduler on time, with the bridge checked by hand: the record reads as
    `drill simulate` of the same scenario writes it."""
    simulated = json.loads(gated("simulate", "gated-drill", "--json", ok=True, DRILL_FAKE_NOW=at(0)).stdout)
    run = gated("start", "gated-drill", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout.strip()
    for minutes, command in (
        (0, ("scheduler", "--once")),
        (5, ("scheduler", "--once")),
        (9, ("check", run, "bridge", "--by", "bob")),
        (10, ("scheduler", "--once")),
        (30, ("act", run, "resolve", "--by", "alice")),
    ):
        gated(*command, ok=True, DRILL_FAKE_NOW=at(minutes))
    assert system_moves(simulated["events"]) == [("escalate", "triage", "escalated", 540, 540, 0)]
    assert comparable(gated.events(run)) == comparable(simulated["events"])


def test_a_replayed_incident_escalates_in_its_drill_when_it_did_in_life(gated: Drill) -> None:
    run = opened(gated)
    gated("check", run, "bridge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(9))
    gated("act", run, "resolve", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(20))
    gated("replay", run, "-o", str(gated.root / "scenarios" / "gated-replay.yaml"), ok=True, DRILL_FAKE_NOW=at(21))
    simulated = json.loads(gated("simulate", "gated-replay", "--json", DRILL_FAKE_NOW=at(21)).stdout)
    assert system_moves(simulated["events"]) == system_moves(gated.events(run))


def test_the_forecast_escalates_when_the_bridge_opens_not_at_the_deadline(gated: Drill) -> None:
    """One incident escalated at 9m, when its bridge opened: the forecast's escalation comes then
    too, so an 8-minute target for reaching `escalated` is never met, even with a 2-minute deadline."""
    run = opened(gated)
    gated("check", run, "bridge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(9))
    gated("act", run, "resolve", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(20))
    done = gated(
        "forecast", "gated", "--severity", "II", "--json", "--runs", "1000",
        "--what-if", "target.time_to_escalate=8m", "--what-if", "deadline.triage=2m", ok=True, DRILL_FAKE_NOW=at(30),
    )  # fmt: skip
    what_if = json.loads(done.stdout)["what_if"]
    escalation, metric = what_if["escalations"][0], what_if["metrics"][0]
    assert (escalation["state"], escalation["p"]) == ("triage", 1.0)
    assert (metric["name"], metric["target"], metric["p"]) == ("time_to_escalate", 480, 0.0)
