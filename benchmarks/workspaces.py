"""Benchmark workspaces, made in the system temp dir: plans for the figures and bulk copies of them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmarks.core import REPO

BENCH_PLAYBOOK = """\
playbook: bench
title: Benchmark plan / 基准
kind: outage
version: 1
severities:
  I: {label: Extraordinary}
  II: {label: Major}
roles:
  lead: On-call lead
  noc: NOC engineer
states:
  working:
    initial: true
    owner: noc
  resolved: {final: true}
transitions:
  - {trigger: ping, from: working, to: working, roles: [lead, noc]}
  - {trigger: resolve, from: working, to: resolved, roles: [lead]}
"""

LIVE_PLAYBOOK = """\
playbook: bench-live
title: Conductor benchmark plan
kind: outage
version: 1
severities:
  I: {label: Extraordinary}
  II: {label: Major}
roles:
  lead: On-call lead
  noc: NOC engineer
states:
  detected:
    initial: true
    owner: noc
    deadline: 5m
  triage:
    owner: lead
    checklist:
      bridge: Open the incident bridge
  resolved: {final: true}
transitions:
  - {trigger: acknowledge, from: detected, to: triage, roles: [lead, noc]}
  - {trigger: resolve, from: triage, to: resolved, roles: [lead], requires: [bridge]}
metrics:
  time_to_acknowledge: {from: detected, to: triage, target: 3m, owner: noc}
  time_to_resolve: {from: start, to: resolved, target: 10m, owner: lead}
"""


ACT_SCENARIO = """\
scenario: bench-act
title: Benchmark drill / 基准演练
playbook: bench
severity: II
form: functional
participants: {lead: alice, noc: bob}
time_limit: 1d
injects:
  - id: ring
    at: 12h
    message: "BJ-3 ring flapping"
    expect: {trigger: resolve, within: 1h}
"""


def live_scenario(injects: int = 20) -> str:
    """Nobody acts: injects every drill minute from 1m, breaches at 3m, 5m and 10m, timed out at the end."""
    lines = [
        "scenario: bench-live",
        "title: Conductor benchmark drill",
        "playbook: bench-live",
        "severity: II",
        "form: functional",
        "participants: {lead: alice, noc: bob}",
        f"time_limit: {injects + 1}m",
        "injects:",
    ]
    for i in range(injects):
        lines += [f"  - id: i{i:02d}", f"    at: {i + 1}m", f'    message: "Inject {i}: link flap on ring BJ-{i}"']
    return "\n".join(lines) + "\n"


def sim_scenario(injects: int = 20) -> str:
    """A 20-inject drill of the sample core network outage, with a script that meets it."""
    lines = [
        "scenario: bench-sim",
        "title: Simulation benchmark drill",
        "playbook: core-network-outage",
        "severity: II",
        "form: tabletop",
        "participants: {lead: alice, noc: bob, comms: carol}",
        "time_limit: 2h",
        "injects:",
    ]
    for i in range(injects):
        lines += [f"  - id: i{i:02d}", f"    at: {i * 2}m", f'    message: "Inject {i}: alarm storm on pool BJ-{i}"']
        if i == 0:
            lines.append("    expect: {trigger: acknowledge, within: 5m}")
        elif i == 5:
            lines.append("    expect: {check: notify_customers, within: 15m, role: comms}")
    lines += [
        "script:",
        "  - {at: 2m, by: bob, trigger: acknowledge}",
        "  - {at: 4m, by: alice, check: bridge}",
        "  - {at: 12m, by: carol, check: notify_customers, note: SMS sent to 40 enterprise accounts}",
        "  - {at: 21m, by: bob, trigger: mitigate, note: rerouted to pool BJ-4}",
        "  - {at: 30m, by: bob, check: report_regulator}",
        "  - {at: 50m, by: alice, trigger: resolve}",
    ]
    return "\n".join(lines) + "\n"


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"drillkit-bench-{prefix}-"))


def bench_workspace(prefix: str = "ws") -> Path:
    """The repository's sample plans plus the benchmark ones."""
    root = scratch(prefix)
    shutil.copytree(REPO / "playbooks", root / "playbooks")
    (root / "scenarios").mkdir()
    (root / "playbooks" / "bench.yaml").write_text(BENCH_PLAYBOOK, encoding="utf-8")
    (root / "playbooks" / "bench-live.yaml").write_text(LIVE_PLAYBOOK, encoding="utf-8")
    (root / "scenarios" / "bench-live.yaml").write_text(live_scenario(), encoding="utf-8")
    (root / "scenarios" / "bench-act.yaml").write_text(ACT_SCENARIO, encoding="utf-8")
    (root / "scenarios" / "bench-sim.yaml").write_text(sim_scenario(), encoding="utf-8")
    return root


def many_playbooks(count: int) -> Path:
    """A workspace of `count` playbooks: the samples copied under new ids (id = file stem)."""
    root = scratch("plans")
    (root / "playbooks").mkdir()
    (root / "scenarios").mkdir()
    samples = sorted((REPO / "playbooks").glob("*.yaml"))
    for i in range(count):
        source = samples[i % len(samples)]
        new_id = f"{source.stem}-{i:05d}"
        text = source.read_text(encoding="utf-8").replace(f"playbook: {source.stem}\n", f"playbook: {new_id}\n", 1)
        (root / "playbooks" / f"{new_id}.yaml").write_text(text, encoding="utf-8")
    return root
