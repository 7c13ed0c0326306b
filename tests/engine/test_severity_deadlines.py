"""A severity change moves deadlines from the moment it is made; a stay in a state breaches once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import Drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def breaches(drill: Drill, run_id: str, state: str) -> list[float]:
    return [e["due"] for e in drill.events(run_id) if e["event"] == "deadline.breached" and e.get("state") == state]


def test_a_change_after_the_breach_does_not_breach_the_same_stay_again(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(1))
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(20))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(21))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(22))
    drill("act", run_id, "mitigate", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(23))
    assert breaches(drill, run_id, "triage") == [960.0]  # II: 15 min from T+1m


def test_raising_severity_tightens_the_deadline_of_the_current_stay(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(1))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(5))
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(12))
    assert breaches(drill, run_id, "triage") == [660.0]  # I: 10 min from T+1m


def test_a_deadline_already_passed_under_the_new_severity_comes_due_when_it_changes(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(1))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(13))
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(14))
    assert breaches(drill, run_id, "triage") == [780.0]  # not T+11m, before anyone knew


def test_each_stay_in_a_state_can_breach_once(drill: Drill) -> None:
    (drill.root / "playbooks" / "loop.yaml").write_text(
        """playbook: loop
title: Loop
kind: outage
version: 1
severities: {II: {label: Major}}
roles: {noc: NOC}
states:
  a: {initial: true, owner: noc, deadline: 5m}
  b: {owner: noc}
  done: {final: true}
transitions:
  - {trigger: go, from: a, to: b}
  - {trigger: back, from: b, to: a}
  - {trigger: finish, from: [a, b], to: done}
""",
        encoding="utf-8",
    )
    run_id = drill.open("--as", "noc=bob", playbook="loop", DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "go", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(6))
    drill("act", run_id, "back", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(7))
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(20))
    assert breaches(drill, run_id, "a") == [300.0, 720.0]


def test_the_runs_list_shows_the_current_severity(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(5))
    listed = json.loads(drill("runs", "--json", ok=True).stdout)
    assert [(r["id"], r["severity"]) for r in listed] == [(run_id, "I")]


def test_a_metric_met_before_a_raise_stays_met_in_the_export(drill: Drill) -> None:
    """Raising severity after mitigation does not judge time_to_mitigate against the tighter target."""
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(1))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(2))
    drill("act", run_id, "mitigate", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(90))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(100))
    document = json.loads(drill("export", run_id, "--format", "json", ok=True, DRILL_FAKE_NOW=at(101)).stdout)
    [mitigate] = [m for m in document["metrics"] if m["name"] == "time_to_mitigate"]
    assert (mitigate["target"], mitigate["value"], mitigate["verdict"]) == (7200, 5400.0, "met")  # II: 2h
    assert not [b for b in document["breaches"] if b["what"] == "metric:time_to_mitigate"]


def test_the_chart_marks_each_stay_deadline_with_the_severity_then_in_force(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))  # II: triage has 15 minutes, I has 10
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(3))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(4))
    drill("act", run_id, "mitigate", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(25))  # triage breached at 18m
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(30))
    html = drill("export", run_id, "--format", "html", ok=True, DRILL_FAKE_NOW=at(31)).stdout
    assert breaches(drill, run_id, "triage") == [1080.0]
    assert "deadline triage T+00:18:00" in html  # 3m + 15m (II), where the breach is marked
    assert "deadline triage T+00:13:00" not in html  # 3m + 10m: severity I came after the stay


def test_the_change_that_passes_a_deadline_is_followed_by_its_breach_in_the_same_command(drill: Drill) -> None:
    """As `drill simulate` and the conductor record it: at the change, not at whatever looks next."""
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(1))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "two provinces", ok=True, DRILL_FAKE_NOW=at(13))
    changed, breach = drill.events(run_id)[-2:]
    assert (changed["event"], breach["event"], breach["state"], breach["t"], breach["late_by"]) == (
        "severity.changed",
        "deadline.breached",
        "triage",
        780.0,
        0.0,
    )
    assert breach["req"] == changed["req"]
