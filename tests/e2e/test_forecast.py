"""`drill forecast` end to end over real records written through the store (SPEC §11)."""

from __future__ import annotations

import json
import math
import random
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.model.clock import VirtualClock
from drillkit.services.runs import apply, open_incident
from tests.conftest import Drill, imported_by

MEAN_ACK = 240.0
ANALYTIC = 1 - math.exp(-300 / MEAN_ACK)
PEOPLE = ["lead=alice", "noc=bob", "comms=carol"]


def write_incidents(root: Path, count: int, seed: int) -> None:
    """`count` resolved core-network-outage incidents at severity II, a day apart: acknowledged
    after an exponential time, or escalated by the system when the 5m deadline passes first."""
    ws, rng = Workspace(root), random.Random(seed)
    for number in range(count):
        clock = VirtualClock(datetime(2026, 9, 1, tzinfo=UTC).replace(day=1 + number % 28, month=9 + number // 28))
        run = open_incident(ws, clock, "core-network-outage", severity="II", by="alice", title=None, assignments=PEOPLE)
        ack = rng.expovariate(1 / MEAN_ACK)
        clock.advance(round(ack, 3))
        if ack < 300:
            apply(ws, clock, run, lambda rs: decide.act(rs, "acknowledge", "bob", "noc", None))
        clock.advance(60)
        apply(ws, clock, run, lambda rs: decide.check(rs, "bridge", "alice", "lead", None))
        clock.advance(600)
        apply(ws, clock, run, lambda rs: decide.act(rs, "mitigate", "bob", "noc", None))
        clock.advance(600)
        apply(ws, clock, run, lambda rs: decide.act(rs, "resolve", "alice", "lead", None))


def forecast_json(drill: Drill, *args: str) -> subprocess.CompletedProcess[str]:
    return drill("forecast", "core-network-outage", "--severity", "II", "--json", *args, ok=True)


def test_forecast_from_forty_incidents(drill: Drill) -> None:
    write_incidents(drill.root, 40, seed=1)
    done = forecast_json(drill, "--seed", "7", "--what-if", "target.time_to_acknowledge=10m")
    again = forecast_json(drill, "--seed", "7", "--what-if", "target.time_to_acknowledge=10m")
    assert done.stdout == again.stdout  # byte-identical
    document = json.loads(done.stdout)
    assert document["basis"] == {"kind": "severity", "runs": 40, "own": 40, "severities": ["II"], "enough": 10}
    ack = next(m for m in document["plan"]["metrics"] if m["name"] == "time_to_acknowledge")
    assert ack["target"] == 300
    assert ack["low"] <= ANALYTIC <= ack["high"]
    assert ack["high"] - ack["low"] > 0.1  # forty runs: a real interval, not a point
    loose = next(m for m in document["what_if"]["metrics"] if m["name"] == "time_to_acknowledge")
    assert loose["target"] == 600
    assert loose["p"] == ack["p"]
    assert document["what_if"]["changes"] == {"target.time_to_acknowledge": 600}
    other_seed = forecast_json(drill, "--seed", "8", "--what-if", "target.time_to_acknowledge=10m")
    assert other_seed.stdout != done.stdout


def test_forecast_table_in_english_and_chinese(drill: Drill) -> None:
    write_incidents(drill.root, 12, seed=2)
    english = drill("forecast", "core-network-outage", "--severity", "II", "--runs", "2000", ok=True).stdout
    assert "Based on 12 past runs at severity II." in english
    assert "time_to_acknowledge" in english
    assert "95% interval" in english
    chinese = drill("forecast", "core-network-outage", "--severity", "重大", "--lang", "zh", "--runs", "2000").stdout
    assert "依据该级别的 12 次历史运行" in chinese
    assert "达标概率" in chinese
    thin = drill("forecast", "core-network-outage", "--severity", "I", "--runs", "2000", ok=True).stdout
    rows = {row["playbook"]: row for row in json.loads(drill("coverage", "--json").stdout)}
    odds = rows["core-network-outage"]["forecast"]
    assert (odds["metric"], odds["severity"], odds["target"], odds["runs"]) == ("time_to_acknowledge", "II", 300, 12)
    assert odds["low"] <= odds["p"] <= odds["high"]
    assert rows["customer-data-leak"]["forecast"] is None  # no history
    coverage = drill("coverage").stdout
    assert f"core-network-outage: time_to_acknowledge within 5m at severity II: {odds['p']:.0%}" in coverage
    assert "Only 0 past runs at severity I (enough is 10): based on 12 runs at severities II." in thin


def test_no_history_says_so_and_falls_back_to_deadlines(drill: Drill) -> None:
    document = json.loads(forecast_json(drill, "--runs", "500").stdout)
    assert document["basis"]["kind"] == "deadlines"
    assert document["basis"]["runs"] == 0
    text = drill("forecast", "core-network-outage", "--severity", "II", "--runs", "500", ok=True).stdout
    assert "No past runs of this playbook" in text


def test_a_history_left_out_whole_says_which_runs_count_rather_than_that_there_are_none(drill: Drill) -> None:
    drill("simulate", "core-outage-q4", ok=True)  # a resolved run of the plan, but not an incident
    args = ("forecast", "core-network-outage", "--severity", "II", "--runs", "500")
    lines = drill(*args, ok=True).stdout.splitlines()
    assert lines[1].startswith(
        "No past runs of this playbook to learn from (only resolved incidents count;"
        " drills and simulations with --include-drills): "
    )
    assert json.loads(drill(*args, "--include-drills", "--json", ok=True).stdout)["basis"]["runs"] == 1
    later = drill(*args, "--include-drills", "--since", "2099-01-01T00:00Z", ok=True).stdout.splitlines()
    assert later[1].startswith(
        "No past runs of this playbook to learn from"
        " (only resolved runs started since 2099-01-01T00:00:00.000Z count): "
    )
    chinese = drill(*args, "--lang", "zh", ok=True).stdout.splitlines()
    assert chinese[1].startswith("该预案没有可依据的历史运行（仅计已解决的事件；演练与模拟需加 --include-drills）")


def test_bad_input_is_one_line_and_exit_2(drill: Drill) -> None:
    cases = {
        ("nope", "--severity", "II"): "no playbook 'nope'",
        ("core-network-outage", "--severity", "IX"): "--severity 'IX'",
        ("core-network-outage", "--severity", "II", "--what-if", "deadline.triage"): "--what-if",
        ("core-network-outage", "--severity", "II", "--what-if", "deadline.nowhere=5m"): "no state 'nowhere'",
        ("core-network-outage", "--severity", "II", "--what-if", "deadline.triage=0s"): "'0s' is zero",
        ("core-network-outage", "--severity", "II", "--what-if", "target.time_to_acknowledge=0m"): "'0m' is zero",
        ("core-network-outage", "--severity", "II", "--runs", "0"): "--runs 0",
        ("core-network-outage", "--severity", "II", "--seed", "-1"): "--seed -1",
    }
    for args, says in cases.items():
        done = drill("forecast", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert says in done.stderr
    assert not (drill.root / "logs" / "runs").exists() or not any((drill.root / "logs" / "runs").iterdir())


def test_acting_on_a_run_never_imports_numpy(drill: Drill) -> None:
    run = drill.open()
    assert "numpy" not in imported_by(drill, "act", run, "acknowledge", "--by", "bob")
    assert drill.events(run)[-1]["trigger"] == "acknowledge"


HOSTILE = "<script>alert('x')</script> & \"quoted\""


def hostile_title(root: Path) -> None:
    playbook = root / "playbooks" / "core-network-outage.yaml"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(
        text.replace("title: 核心网故障 / Core network outage", f"title: '{HOSTILE.replace(chr(39), chr(39) * 2)}'")
    )


def test_the_html_page_charts_each_metric_against_its_target(drill: Drill) -> None:
    write_incidents(drill.root, 20, seed=3)
    hostile_title(drill.root)
    page = drill.root / "forecast.html"
    done = drill(
        "forecast", "core-network-outage", "--severity", "II", "--runs", "5000", "--format", "html",
        "--what-if", "target.time_to_acknowledge=10m", "-o", str(page), ok=True,
    )  # fmt: skip
    assert done.stdout == ""
    assert f"wrote {page}" in done.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
    charts = html.split('<figure class="metric-chart spread">')[1:]
    metrics = json.loads(forecast_json(drill, "--runs", "500").stdout)["plan"]["metrics"]
    assert len(charts) == len(metrics) == 3
    for chart, metric in zip(charts, metrics, strict=True):
        assert f"{metric['name']}:" in chart.split("<figcaption>")[1]
        assert chart.count('<line class="target" ') == 1  # the what-if's target only where it differs
        assert '<rect class="bar' in chart
    assert charts[0].count('<line class="target what-if" ') == 1
    assert "<title>target 5m</title>" in charts[0]
    assert "<title>target with the what-if 10m</title>" in charts[0]


def test_the_html_page_in_chinese_and_its_guards(drill: Drill) -> None:
    write_incidents(drill.root, 12, seed=4)
    page = drill.root / "预测.html"
    args = ("forecast", "core-network-outage", "--severity", "II", "--runs", "2000", "--format", "html")
    drill(*args, "--lang", "zh", "-o", str(page), ok=True)
    html = page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "各指标的分布" in html
    assert "<title>目标 5m</title>" in html
    again = drill(*args, "-o", str(page))
    assert again.returncode == 2
    assert "add --force" in again.stderr
    assert page.read_text(encoding="utf-8") == html
    both = drill(*args, "--json")
    assert both.returncode == 2
    assert len(both.stderr.strip().splitlines()) == 1
    assert drill(*args, "--seed", "3", ok=True).stdout == drill(*args, "--seed", "3", ok=True).stdout


NO_METRICS = """\
playbook: no-metrics
title: A plan with deadlines and no metrics
kind: outage
version: 1
severities: {II: {label: Major}}
roles: {noc: NOC engineer}
states:
  open: {initial: true, owner: noc, deadline: 5m}
  closed: {final: true}
transitions:
  - {trigger: close, from: open, to: closed}
"""


def test_a_playbook_without_metrics_says_so_rather_than_show_an_empty_table(drill: Drill, tmp_path: Path) -> None:
    (drill.root / "playbooks" / "no-metrics.yaml").write_text(NO_METRICS, encoding="utf-8")
    text = drill("forecast", "no-metrics", "--severity", "II", ok=True).stdout
    assert "The playbook has no metrics: no target to meet" in text
    assert "P(met)" not in text
    assert "expected breaches" in text
    page = tmp_path / "odds.html"
    drill("forecast", "no-metrics", "--severity", "II", "--format", "html", "-o", str(page), ok=True)
    html = page.read_text(encoding="utf-8")
    assert "no target to meet" in html
    assert 'id="spread"' not in html
