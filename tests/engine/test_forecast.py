"""The forecast engine against histories drawn from known distributions (SPEC §11).

Acknowledgement times are exponential with a known mean; the sample core-network-outage plan
escalates by deadline at 5m, so an acknowledgement later than that never happens (the system
escalates) and the chance of meeting the 5m target is exactly 1 - exp(-5m / mean)."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.engine.forecast import Basis, PastRun, Stay, WhatIf, choose_basis, forecast, parse_what_if
from drillkit.model.errors import UsageError
from drillkit.model.plans import Playbook
from drillkit.plans.library import Plans

SAMPLES = Path(__file__).resolve().parents[2] / "drillkit" / "samples"
MEAN_ACK = 240.0
DEADLINE = 300.0
ANALYTIC = 1 - math.exp(-DEADLINE / MEAN_ACK)


@pytest.fixture(scope="module")
def core() -> Playbook:
    return Plans(Workspace(SAMPLES)).playbook("core-network-outage")


def past_run(rng: random.Random, severity: str = "II") -> PastRun:
    """One resolved run: acknowledged after an exponential time, or escalated by the system at 5m."""
    ack = rng.expovariate(1 / MEAN_ACK)
    acked = ack < DEADLINE
    first = Stay("detected", ack if acked else DEADLINE, "triage" if acked else "escalated", not acked)
    second = Stay(first.to, rng.uniform(600, 1800), "mitigated", False)
    third = Stay("mitigated", rng.uniform(600, 3600), "resolved", False)
    entered = first.seconds
    return PastRun(severity, (first, second, third), {"bridge": entered + 60, "notify_customers": entered + 600})


def history(size: int, seed: int, severity: str = "II") -> list[PastRun]:
    rng = random.Random(seed)
    return [past_run(rng, severity) for _ in range(size)]


def ack_row(answer: dict[str, object], block: str = "plan") -> dict[str, float]:
    rows = answer[block]["metrics"]  # type: ignore[index]
    return next(row for row in rows if row["name"] == "time_to_acknowledge")


def test_the_analytic_probability_lies_inside_the_interval_in_at_least_90_of_100_trials(core: Playbook) -> None:
    inside = 0
    for trial in range(100):
        basis = choose_basis(history(40, seed=trial), "II")
        row = ack_row(forecast(core, "II", basis, runs=40_000, seed=trial))
        inside += row["low"] <= ANALYTIC <= row["high"]
    assert inside >= 90, f"inside {inside} of 100"


def test_the_interval_narrows_as_the_history_grows(core: Playbook) -> None:
    widths = []
    for size in (10, 40, 160, 640):
        row = ack_row(forecast(core, "II", choose_basis(history(size, seed=size), "II"), runs=100_000, seed=1))
        widths.append(row["high"] - row["low"])
    assert widths == sorted(widths, reverse=True), widths
    assert widths[-1] < widths[0] / 4


def test_no_history_falls_back_to_the_deadlines(core: Playbook) -> None:
    basis = choose_basis([], "II")
    assert basis == Basis("deadlines", ())
    answer = forecast(core, "II", basis, runs=1000, seed=0)
    row = ack_row(answer)
    # Each stay lasts exactly its deadline: acknowledged at 5m, which meets the 5m target, no breach.
    assert (row["p"], row["low"], row["high"]) == (1.0, 1.0, 1.0)
    assert all(b["expected"] == 0 for b in answer["plan"]["breaches"])
    slower = forecast(core, "II", basis, runs=1000, seed=0, what_if=WhatIf(deadlines={"detected": 600}))
    assert ack_row(slower, "what_if")["p"] == 0.0


def test_other_severities_are_used_when_the_asked_one_has_too_few_runs() -> None:
    runs = history(3, seed=1, severity="II") + history(30, seed=2, severity="III")
    assert choose_basis(runs, "II").kind == "all-severities"
    assert len(choose_basis(runs, "II").runs) == 33
    assert choose_basis(runs, "III") == Basis("severity", tuple(runs[3:]))


def test_a_target_what_if_changes_only_the_metric_it_names(core: Playbook) -> None:
    basis = choose_basis(history(40, seed=5), "II")
    plain = forecast(core, "II", basis, runs=20_000, seed=3)
    changed = forecast(core, "II", basis, runs=20_000, seed=3, what_if=WhatIf(targets={"time_to_acknowledge": 200}))
    assert changed["plan"] == plain["plan"]
    plan, what_if = changed["plan"], changed["what_if"]
    differs = {row["name"] for row, other in zip(plan["metrics"], what_if["metrics"], strict=True) if row != other}
    assert differs == {"time_to_acknowledge"}
    assert ack_row(changed, "what_if")["p"] < ack_row(changed)["p"]
    assert what_if["escalations"] == plan["escalations"]
    moved = {b["owner"] for b, other in zip(plan["breaches"], what_if["breaches"], strict=True) if b != other}
    assert moved == {"noc"}  # the metric's owner, and only it


def test_a_deadline_what_if_moves_the_escalation(core: Playbook) -> None:
    basis = choose_basis(history(40, seed=6), "II")
    answer = forecast(core, "II", basis, runs=20_000, seed=3, what_if=WhatIf(deadlines={"detected": 120}))
    plan, tighter = answer["plan"]["escalations"][0], answer["what_if"]["escalations"][0]
    assert plan["state"] == "detected"
    assert tighter["p"] > plan["p"]
    expected_plan = math.exp(-DEADLINE / MEAN_ACK)
    assert plan["low"] <= expected_plan <= plan["high"]


def test_the_same_seed_gives_the_same_answer_and_another_seed_another(core: Playbook) -> None:
    basis = choose_basis(history(40, seed=7), "II")
    first = forecast(core, "II", basis, runs=5000, seed=11)
    assert forecast(core, "II", basis, runs=5000, seed=11) == first
    assert forecast(core, "II", basis, runs=5000, seed=12) != first


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        ("deadline", "write deadline.STATE=DURATION"),
        ("deadline.triage", "write deadline.STATE=DURATION"),
        ("limit.triage=5m", "write deadline.STATE=DURATION"),
        ("deadline.nowhere=5m", "no state 'nowhere'"),
        ("deadline.resolved=5m", "resolved is a final state, where no deadline runs; states: detected, triage,"),
        ("target.speed=5m", "no metric 'speed'"),
        ("target.time_to_acknowledge=5", "has no unit"),
    ],
)
def test_a_malformed_what_if_is_refused(core: Playbook, pair: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_what_if([pair], core)


def test_a_key_given_twice_is_refused_rather_than_the_last_one_winning(core: Playbook) -> None:
    with pytest.raises(UsageError, match=re.escape("deadline.triage is already given ('deadline.triage=5m')")):
        parse_what_if(["deadline.triage=5m", "target.time_to_notify=45m", "deadline.triage=10m"], core)


def test_zero_runs_is_refused(core: Playbook) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        forecast(core, "II", choose_basis([], "II"), runs=0, seed=0)


LOOPING = """\
playbook: looping
title: A plan whose escalated incident may be handed back
kind: outage
version: 1
severities: {II: {label: Major}}
roles: {noc: NOC engineer}
states:
  open: {initial: true, owner: noc, deadline: 5m, on_deadline: escalate}
  escalated: {owner: noc}
  closed: {final: true}
transitions:
  - {trigger: escalate, from: open, to: escalated}
  - {trigger: hand_back, from: escalated, to: open}
  - {trigger: close, from: [open, escalated], to: closed}
"""


def test_the_odds_of_an_escalation_are_of_a_run_escalating_at_all_however_often_it_comes_back(
    tmp_path: Path,
) -> None:
    """Half the past runs closed in 2m; half escalated at 5m, were handed back and escalated again.
    A stay in `open` fires 2 times in 3; one in `escalated` is handed back 1 time in 2. A run does
    not escalate only if its first stay closes it: 2/3 of runs escalate, once each on average, so
    counting escalations would say 100%."""
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "looping.yaml").write_text(LOOPING, encoding="utf-8")
    pb = Plans(Workspace(tmp_path)).playbook("looping")
    quick = PastRun("II", (Stay("open", 120, "closed", False),))
    fired, back = Stay("open", 300, "escalated", True), Stay("escalated", 600, "open", False)
    looped = PastRun("II", (fired, back, fired, Stay("escalated", 600, "closed", False)))
    basis = Basis("severity", (quick, looped) * 40)
    (row,) = forecast(pb, "II", basis, runs=40_000, seed=5)["plan"]["escalations"]
    assert row["state"] == "open"
    assert row["p"] == pytest.approx(2 / 3, abs=0.01)
    assert row["low"] <= 2 / 3 <= row["high"] <= 1
    always = forecast(pb, "II", basis, runs=40_000, seed=5, what_if=WhatIf(deadlines={"open": 60}))
    (row,) = always["what_if"]["escalations"]
    assert (row["p"], row["low"], row["high"]) == (1.0, 1.0, 1.0)  # every stay fires at 1m now: each run, once or more


GATED = """\
playbook: gated
title: A plan whose escalation needs the bridge open
kind: outage
version: 1
severities: {II: {label: Major}}
roles: {noc: NOC engineer}
states:
  open: {initial: true, owner: noc, deadline: 5m, on_deadline: escalate, checklist: {bridge: Open the bridge}}
  escalated: {owner: noc}
  closed: {final: true}
transitions:
  - {trigger: escalate, from: open, to: escalated, requires: [bridge]}
  - {trigger: close, from: [open, escalated], to: closed}
metrics:
  time_to_escalate: {from: open, to: escalated, target: 7m, owner: noc}
"""


def test_an_escalation_its_items_hold_back_fires_when_they_are_done_not_at_the_deadline(tmp_path: Path) -> None:
    """Half the past runs opened the bridge at 10m, and the system escalated then; half never
    opened it and closed at 15m, never escalated. The system fires as the engine does: at the
    deadline or once the bridge is open, if later; so half the runs escalate, none within 7m,
    and a tighter deadline changes neither."""
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "gated.yaml").write_text(GATED, encoding="utf-8")
    pb = Plans(Workspace(tmp_path)).playbook("gated")
    held = PastRun(
        "II", (Stay("open", 600, "escalated", True), Stay("escalated", 300, "closed", False)), {"bridge": 600}
    )
    never = PastRun("II", (Stay("open", 900, "closed", False),))
    basis = Basis("severity", (held, never) * 40)
    answer = forecast(pb, "II", basis, runs=40_000, seed=5, what_if=WhatIf(deadlines={"open": 120}))
    for block in ("plan", "what_if"):
        (escalation,) = answer[block]["escalations"]
        assert escalation["p"] == pytest.approx(0.5, abs=0.02), block
        (metric,) = answer[block]["metrics"]
        assert (metric["name"], metric["p"]) == ("time_to_escalate", 0.0), block
