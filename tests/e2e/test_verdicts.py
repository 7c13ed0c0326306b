"""Verdicts with their reasons, through the CLI (SPEC §5, §6): an aborted or timed-out drill is
`void` for what it never reached, every verdict says why, and a late checklist item, its late
metric and its missed expectation each say why they differ."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def exported(drill: Drill, run_id: str, *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(drill("export", run_id, "--format", "json", *args, ok=True).stdout)
    return document


def verdicts(rows: list[dict[str, Any]], key: str) -> dict[str, tuple[str, str]]:
    return {row[key]: (row["verdict"], row["why"]) for row in rows}


def section(report: str, heading: str) -> str:
    """One `## heading` section of a Markdown report."""
    return report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_an_aborted_drill_is_void_for_the_targets_it_never_reached(drill: Drill) -> None:
    run_id = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout.strip()
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(2))
    drill("abort", run_id, "--by", "alice", "--reason", "real outage", ok=True, DRILL_FAKE_NOW=at(8))

    document = exported(drill, run_id)
    assert verdicts(document["metrics"], "name") == {
        "time_to_acknowledge": ("met", "met: triage reached at T+00:02:00 by bob, due T+00:05:00"),
        "time_to_mitigate": (
            "void",
            "void: the run was aborted at T+00:08:00, before mitigated was reached or due (T+02:00:00)",
        ),
        "time_to_notify": (
            "void",
            "void: the run was aborted at T+00:08:00, before check:notify_customers was reached or due (T+00:30:00)",
        ),
    }
    assert verdicts(document["expectations"], "inject")["complaints"] == (
        "void",
        "void: the run was aborted at T+00:08:00, before the inject at T+00:10:00",
    )
    report = drill("export", run_id, "--format", "md", ok=True).stdout
    assert "| missed |" not in report  # (the scoring rule names the word)
    assert "missed:" not in report
    assert section(report, "Accountability").count("\n| ") == 2  # its header and "(none)"
    assert "| time_to_notify | start | check:notify_customers | comms | 30m | — | void | the run was aborted" in report
    chinese = drill("export", run_id, "--format", "md", "--lang", "zh", ok=True).stdout
    assert "| 不计 | 运行于 T+00:08:00 已中止，其时尚未达到 mitigated，也未到时限（T+02:00:00） |" in chinese

    figures = json.loads(drill("report", "--include-drills", "--format", "json", ok=True).stdout)
    shares = {m["name"]: (m["met"], m["missed"], m["share_met"]) for m in figures["overall"]["metrics"]}
    assert shares["time_to_notify"] == (0, 0, None)  # not 0% met: nothing was judged
    assert figures["overall"]["expectations"]["void"] == 1


TIMED_OUT = """\
scenario: short-exercise
title: Core outage drill cut short by its time limit
playbook: core-network-outage
severity: II
form: tabletop
participants: {lead: alice, noc: bob, comms: carol}
time_limit: 20m
injects:
  - id: alarm
    at: 0m
    message: MME pool BJ-3 unreachable
    expect: {trigger: acknowledge, within: 5m}
  - id: complaints
    at: 10m
    message: Call centre complaint volume up five-fold
    expect: {check: notify_customers, within: 15m, role: comms}
script:
  - {at: 2m, by: bob, trigger: acknowledge}
  - {at: 4m, by: alice, check: bridge}
  - {at: 10m, by: alice, trigger: escalate}
"""


def test_a_simulation_timed_out_before_its_targets_passes_with_them_void(drill: Drill) -> None:
    (drill.root / "scenarios" / "short-exercise.yaml").write_text(TIMED_OUT, encoding="utf-8")
    done = drill("simulate", "short-exercise")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "metric time_to_mitigate: not reached (target 2h): void: the run was timed out at T+00:20:00, "
        "before mitigated was reached or due (T+02:00:00)"
    ) in done.stdout
    assert (
        "inject complaints expects check:notify_customers: void: the run was timed out at T+00:20:00, "
        "before notify_customers was due (T+00:25:00)"
    ) in done.stdout


HANDOVER = """\
scenario: comms-handover
title: Core outage drill, comms handed over before the notice went out
playbook: core-network-outage
severity: II
form: functional
participants: {lead: alice, noc: bob, comms: carol}
time_limit: 2h
injects:
  - id: complaints
    at: 10m
    message: Call centre complaint volume up five-fold
    expect: {check: notify_customers, within: 15m, role: comms}
"""


def test_an_item_done_by_someone_who_no_longer_held_the_role_says_why_each_verdict_differs(drill: Drill) -> None:
    (drill.root / "scenarios" / "comms-handover.yaml").write_text(HANDOVER, encoding="utf-8")
    run_id = drill("start", "comms-handover", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(0)).stdout
    run_id = run_id.strip()
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(2))
    drill("assign", run_id, "comms", "dave", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(27))
    drill("check", run_id, "notify_customers", "--by", "carol", ok=True, DRILL_FAKE_NOW=at(40))
    drill("abort", run_id, "--by", "alice", "--reason", "exercise over", ok=True, DRILL_FAKE_NOW=at(45))

    document = exported(drill, run_id)
    done = next(c for c in document["checklist"] if c["item"] == "notify_customers")
    assert (done["done_at"], done["by"]) == (2400.0, "carol")
    assert verdicts(document["metrics"], "name")["time_to_notify"] == (
        "missed",
        "missed: check:notify_customers reached at T+00:40:00 by carol, due T+00:30:00",
    )
    assert verdicts(document["expectations"], "inject")["complaints"] == (
        "missed",
        "missed: notify_customers done at T+00:40:00 by carol, who no longer held comms (dave since T+00:27:00)",
    )
    report = drill("export", run_id, "--format", "md", ok=True).stdout
    accountable = section(report, "Accountability")
    assert (
        "| inject:complaints check:notify_customers | comms | carol | T+00:25:00 | — | missed: notify_customers "
        "done at T+00:40:00 by carol, who no longer held comms (dave since T+00:27:00) |"
    ) in accountable
    assert "| metric:time_to_notify | comms | dave | T+00:30:00 | 10m | check:notify_customers reached" in accountable
    chinese = drill("export", run_id, "--format", "html", "--lang", "zh", ok=True).stdout
    assert "carol 于 T+00:40:00 完成 notify_customers，但其时已不担任 comms（T+00:27:00 起由 dave 担任）" in chinese


def test_an_escalation_by_deadline_says_what_happened_not_never(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("status", run_id, ok=True, DRILL_FAKE_NOW=at(6))  # detected's 5m deadline: on_deadline escalate
    drill("abort", run_id, "--by", "alice", "--reason", "handled elsewhere", ok=True, DRILL_FAKE_NOW=at(7))

    breaches = exported(drill, run_id)["breaches"]
    assert [(b["what"], b["late_by"], b["why"]) for b in breaches] == [
        ("state:detected", None, "escalated by deadline at T+00:05:00 (no one acted)"),
        ("metric:time_to_acknowledge", None, "triage never reached: the run was aborted at T+00:07:00"),
    ]
    report = drill("export", run_id, "--format", "md", ok=True).stdout
    row = "| state:detected | noc | bob | T+00:05:00 | — | escalated by deadline at T+00:05:00 (no one acted) |"
    assert row in section(report, "Accountability")
    chinese = drill("export", run_id, "--format", "md", "--lang", "zh", ok=True).stdout
    assert "| T+00:05:00 因超时自动升级（无人处置） |" in chinese
