"""Measurement against hand computation: three drills whose every metric value, verdict,
expectation verdict, breach and accountability row was worked out by hand from the scenario
files in `tests/golden/ws/scenarios/` (drill seconds; comments show the arithmetic)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from drillkit.cli.main import app
from drillkit.engine.metrics import accountability, state_times
from tests.conftest import FAKE_NOW, check_verifiers_agree

GOLDEN_WS = Path(__file__).resolve().parents[1] / "golden" / "ws"


@pytest.fixture
def review_ws(tmp_path: Path) -> Iterator[Path]:
    """A copy of the frozen review workspace; its records are double-verified at teardown."""
    root = tmp_path / "ws"
    shutil.copytree(GOLDEN_WS, root)
    yield root
    check_verifiers_agree(root)


def invoke(root: Path, *args: str, now: str = FAKE_NOW, user: str | None = None) -> Result:
    """`drill ARGS…` in this process; who acts is named with --by (`user` sets $DRILL_USER)."""
    env = {"DRILL_FAKE_NOW": now, "DRILL_USER": user, "NO_COLOR": "1", "DRILL_WORKSPACE": str(root)}
    return CliRunner().invoke(app, ["--workspace", str(root), *args], env=env)


def simulated(root: Path, scenario: str) -> str:
    """Simulate a scenario at FAKE_NOW; its run id."""
    done = invoke(root, "simulate", scenario, "--json")
    assert done.exit_code in (0, 1), done.output
    return str(json.loads(done.stdout)["run"]["id"])


def exported(root: Path, run: str) -> dict[str, Any]:
    done = invoke(root, "export", run, "--format", "json")
    assert done.exit_code == 0, done.output
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def metric_table(document: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {m["name"]: (m["target"], m["value"], m["verdict"]) for m in document["metrics"]}


def expectation_table(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["inject"], e["due"], e["at"], e["by"], e["verdict"]) for e in document["expectations"]]


def accountability_table(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(a["what"], a["owner"], a["person"], a["due"], a["late_by"]) for a in accountability(document["events"])]


def test_late_customer_notice(review_ws: Path) -> None:
    document = exported(review_ws, simulated(review_ws, "hand-late-comms"))
    assert metric_table(document) == {
        "time_to_acknowledge": (300, 180.0, "met"),  # triage entered at 3m
        "time_to_mitigate": (7200, 2400.0, "met"),  # mitigated at 40m, target II 2h
        "time_to_notify": (1800, 1860.0, "missed"),  # notify_customers at 31m > 30m
    }
    assert expectation_table(document) == [
        ("alarm", 300.0, 180.0, "bob", "met"),  # 0m + 5m
        ("complaints", 1500.0, 1860.0, "carol", "late"),  # 10m + 15m
    ]
    assert [(b["what"], b["owner"], b["assignee"], b["due"], b["late_by"]) for b in document["breaches"]] == [
        ("state:triage", "lead", "alice", 1080.0, 1320.0),  # entered 3m + 15m (II); left at 40m
        ("metric:time_to_notify", "comms", "carol", 1800.0, 60.0),  # reached at 31m
    ]
    assert accountability_table(document) == [
        ("state:triage", "lead", "alice", 1080.0, 1320.0),  # left triage at 40m: 2400 - 1080
        ("inject:complaints check:notify_customers", "comms", "carol", 1500.0, 360.0),  # 1860 - 1500
        ("metric:time_to_notify", "comms", "carol", 1800.0, 60.0),  # 1860 - 1800
    ]
    assert state_times(document["events"]) == {"detected": 180.0, "triage": 2220.0, "mitigated": 900.0, "resolved": 0.0}
    assert [(c["item"], c["done_at"], c["by"]) for c in document["checklist"]] == [
        ("bridge", 480.0, "alice"),
        ("notify_customers", 1860.0, "carol"),
        ("report_regulator", None, None),
    ]
    assert (document["run"]["outcome"], document["integrity"]["verdict"]) == ("resolved", "ok")


def test_missed_report_with_chinese_ids(review_ws: Path) -> None:
    document = exported(review_ws, simulated(review_ws, "hand-missed-report"))
    assert metric_table(document) == {
        "确认时长": (900, None, "missed"),  # 研判 never entered; the plan escalated itself at 15m
        "监管报告时长": (3600, None, "missed"),  # 上报监管 never done
        "控制时长": (28800, 5700.0, "met"),  # 恢复 at 1h35m, target default 8h (III)
        "用户通知时长": (86400, None, "missed"),  # never done, run ended at 2h20m
    }
    assert expectation_table(document) == [
        ("告警", 900.0, None, None, "missed"),
        ("论坛售卖", 3600.0, None, None, "missed"),  # 30m + 30m
    ]
    assert accountability_table(document) == [
        ("state:发现", "安全分析员", "李娜", 900.0, None),  # never: the plan's on_deadline 升级 left 发现, not 李娜
        ("metric:确认时长", "安全分析员", "李娜", 900.0, None),
        ("inject:告警 trigger:确认", "安全分析员", "李娜", 900.0, None),  # 确认 leaves 发现, owned by 安全分析员
        ("metric:监管报告时长", "合规专员", "张敏", 3600.0, None),
        ("inject:论坛售卖 check:上报监管", "合规专员", "张敏", 3600.0, None),
    ]
    assert state_times(document["events"]) == {
        "发现": 900.0,
        "升级响应": 2100.0,  # 15m → 50m
        "处置": 2700.0,  # 50m → 1h35m
        "恢复": 2700.0,  # 1h35m → 2h20m
        "结案": 0.0,
    }
    notes = [e["text"] for e in document["events"] if e["event"] == "note"]
    assert notes == ["告警在交接班时被遗漏"]


def at(minutes: int, seconds: int = 0) -> str:
    """FAKE_NOW (08:00:00Z) plus a drill offset, as DRILL_FAKE_NOW."""
    total = minutes * 60 + seconds
    return f"2026-11-29T{8 + total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}Z"


def test_lead_handover_mid_run_moves_accountability(review_ws: Path) -> None:
    started = invoke(review_ws, "start", "hand-handover", "--detach", "--by", "alice")
    assert started.exit_code == 0, started.output
    run = started.stdout.strip()
    steps: list[tuple[int, tuple[str, ...]]] = [
        (2, ("act", run, "acknowledge", "--by", "bob")),  # triage at 120; its deadline falls at 120 + 900
        (20, ("check", run, "bridge", "--by", "alice")),  # records the triage breach (due 1020) first
        (25, ("assign", run, "lead", "erin", "--by", "alice")),  # handover at 1500
        (26, ("act", run, "escalate", "--by", "erin")),  # triage left at 1560
        (40, ("check", run, "notify_customers", "--by", "carol")),  # 2400, after the 30m target
        (90, ("note", run, "handover reviewed", "--by", "erin")),
        (125, ("status", run, "--json")),  # catch-up: time_to_mitigate breach at 7200, time limit
    ]
    for minute, args in steps:
        done = invoke(review_ws, *args, now=at(minute))
        assert done.exit_code == 0, f"{args}: {done.output}"
    document = exported(review_ws, run)
    assert metric_table(document) == {
        "time_to_acknowledge": (300, 120.0, "met"),
        "time_to_mitigate": (7200, None, "missed"),
        "time_to_notify": (1800, 2400.0, "missed"),
    }
    assert expectation_table(document) == [
        ("alarm", 300.0, 120.0, "bob", "met"),
        ("complaints", 1500.0, 2400.0, "carol", "late"),
    ]
    assert [(b["what"], b["assignee"], b["due"], b["late_by"]) for b in document["breaches"]] == [
        ("state:triage", "alice", 1020.0, 540.0),  # triage left at 1560: 540 s late
        ("metric:time_to_notify", "carol", 1800.0, 600.0),
        ("metric:time_to_mitigate", "erin", 7200.0, None),  # lead since 25m; never mitigated
    ]
    assert accountability_table(document) == [
        ("state:triage", "lead", "alice", 1020.0, 540.0),  # alice led until 25m; triage left at 1560
        ("inject:complaints check:notify_customers", "comms", "carol", 1500.0, 900.0),
        ("metric:time_to_notify", "comms", "carol", 1800.0, 600.0),
        ("metric:time_to_mitigate", "lead", "erin", 7200.0, None),
    ]
    assert document["run"]["outcome"] == "timed-out"
    rows = json.loads(invoke(review_ws, "timeline", run, "--json", now=at(130)).stdout)["rows"]
    handover = [(r["actor"], r["role"], r["detail"]) for r in rows if r["event"] == "assigned"]
    assert handover == [("alice", None, "lead -> erin")]  # the role handed over is not alice's own


EARLY_ACTIONS = """\
scenario: hand-early-actions
title: Core outage drill, answers given before the question
playbook: core-network-outage
severity: II
form: tabletop
participants: {lead: alice, noc: bob, comms: carol}
time_limit: 1h
injects:
  - id: alarm
    at: 0m
    message: MME pool BJ-3 unreachable
  - id: second-look
    at: 10m
    message: Alarms again on BJ-3
    expect: {trigger: acknowledge, within: 5m}
  - id: bridge-call
    at: 10m
    message: The vendor asks for a bridge
    expect: {check: bridge, within: 5m}
script:
  - {at: 2m, by: bob, trigger: acknowledge}
  - {at: 4m, by: alice, check: bridge}
  - {at: 30m, by: bob, trigger: mitigate}
  - {at: 40m, by: alice, trigger: resolve}
"""


def test_an_answer_before_the_inject_counts_for_a_checklist_item_not_for_a_transition(review_ws: Path) -> None:
    (review_ws / "scenarios" / "hand-early-actions.yaml").write_text(EARLY_ACTIONS, encoding="utf-8")
    document = exported(review_ws, simulated(review_ws, "hand-early-actions"))
    assert expectation_table(document) == [
        ("second-look", 900.0, None, None, "missed"),  # acknowledged at 2m, before the 10m inject
        ("bridge-call", 900.0, 240.0, "alice", "met"),  # the bridge was already open at 4m
    ]
    assert ("inject:second-look trigger:acknowledge", "noc", "bob", 900.0, None) in accountability_table(document)
