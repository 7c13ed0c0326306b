"""SPEC §10 end to end through the CLI: a drill with objectives runs, two evaluators rate it, a
participant gives feedback, the report shows the ratings, score and grade; a corrective action
opened from an objective rated M closes only on a later drill where that objective scores P or S."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Drill, command_notifier
from tests.model.test_events import misfits

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SCENARIO = "core-outage-q4"  # the sample: objectives detect (w1), mitigate (w2), inform (w1); evaluators erin, frank
# The sample's script, as people would do it by hand: (minute, who, command, what)
SCRIPT = [
    (2, "bob", "act", "acknowledge"),
    (4, "alice", "check", "bridge"),
    (12, "carol", "check", "notify_customers"),
    (21, "bob", "act", "mitigate"),
    (30, "bob", "check", "report_regulator"),
    (50, "alice", "act", "resolve"),
]


def at(start: datetime, minutes: float) -> str:
    return (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_drill(drill: Drill, start: datetime) -> str:
    """The sample drill, started at `start` and resolved at T+50m; its run id."""
    run_id = drill("start", SCENARIO, "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(start, 0)).stdout
    run_id = run_id.strip().splitlines()[0]
    for minute, who, command, what in SCRIPT:
        drill(command, run_id, what, "--by", who, ok=True, DRILL_FAKE_NOW=at(start, minute))
    return run_id


def observe(drill: Drill, run_id: str, objective: str, rating: str, by: str, *extra: str, when: str) -> None:
    drill("observe", run_id, objective, "--rating", rating, "--by", by, *extra, ok=True, DRILL_FAKE_NOW=when)


def ledger_lines(drill: Drill) -> list[bytes]:
    path = drill.root / "logs" / "actions.jsonl"
    return path.read_bytes().splitlines() if path.exists() else []


def test_a_rated_drill_reports_its_score_and_grade_and_an_action_closes_only_on_a_passing_retest(
    drill: Drill,
) -> None:
    run_id = run_drill(drill, START)
    during = at(START, 30)
    observe(drill, run_id, "detect", "P", "erin", "--strength", "bridge open within 2 minutes", when=during)
    observe(drill, run_id, "mitigate", "U", "erin", when=during)  # replaced by erin's later rating
    after = at(START, 70)  # the run resolved at T+50m: evaluators still rate
    observe(drill, run_id, "detect", "S", "frank", when=after)
    observe(
        drill, run_id, "mitigate", "M", "erin", "--improve", "bridge opened late: the phone list was stale", when=after
    )
    observe(drill, run_id, "mitigate", "M", "frank", when=after)
    drill("feedback", run_id, "the bridge number in the wiki was wrong", "--by", "carol", ok=True, DRILL_FAKE_NOW=after)

    kinds = [e["event"] for e in drill.events(run_id)]
    assert kinds.index("run.ended") < kinds.index("feedback")
    assert misfits(drill.events(run_id)) == []  # the typed events declare what is written
    assert drill("verify", run_id, ok=True).stdout.split(": ")[1].startswith("ok")

    # By hand: detect (100 + 80) / 2 = 90, weight 1; mitigate (60 + 60) / 2 = 60, weight 2;
    # inform rated by no one, its evidence (complaints met, time_to_notify met) all met: P = 100.
    # Score (90×1 + 60×2 + 100×1) / 4 = 77.5: 良好 (≥ 75, < 90).
    document = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)["evaluation"]
    assert [(o["id"], o["points"], o["rated_by"]) for o in document["objectives"]] == [
        ("detect", 90.0, "evaluators"),
        ("mitigate", 60.0, "evaluators"),
        ("inform", 100.0, "evidence"),
    ]
    assert (document["score"], document["grade"]) == (77.5, "良好")
    report = drill("export", run_id, "--format", "md", ok=True).stdout
    assert "- **Score**: (90×1 + 60×2 + 100×1) / 4 = 77.5" in report
    assert "- **Grade**: 良好 (good)" in report
    assert "| erin P, frank S | 90 | (erin P 100 + frank S 80) / 2 = 90 |" in report
    assert "the bridge number in the wiki was wrong" in report
    assert "bridge opened late: the phone list was stale" in report
    zh = drill("export", run_id, "--format", "md", "--lang", "zh", ok=True).stdout
    headings = [line for line in zh.splitlines() if line.startswith("## ")]
    assert headings[:7] == [
        "## 基本概要",
        "## 演练目标评估",
        "## 评分与等级及其计算",
        "## 发现的问题",
        "## 经验教训：做得好的方面",
        "## 参演人员反馈",
        "## 工作建议与整改计划",
    ]

    added = drill(
        "action",
        "add",
        "--from",
        f"{run_id}:mitigate",
        "--title",
        "Refresh the on-call phone list",
        "--owner",
        "lead=alice",
        "--due",
        "2026-12-15",
        "--by",
        "risk",
        ok=True,
        DRILL_FAKE_NOW=at(START, 90),
    )
    assert added.stdout.strip() == "A-1"
    plan = drill("export", run_id, "--format", "md", ok=True).stdout.split("## Improvement plan\n", 1)[1]
    assert "| A-1 | mitigate | Refresh the on-call phone list | lead=alice | 2026-12-15 | open |" in plan

    overdue = json.loads(
        drill("action", "list", "--overdue", "--json", ok=True, DRILL_FAKE_NOW="2026-12-16T09:00:00Z").stdout
    )
    assert [a["action"] for a in overdue] == ["A-1"]
    assert (
        json.loads(
            drill("action", "list", "--overdue", "--json", ok=True, DRILL_FAKE_NOW="2026-12-15T09:00:00Z").stdout
        )
        == []
    )

    # A retest where mitigate is M again is refused, and nothing is written.
    again = run_drill(drill, START + timedelta(days=7))
    observe(drill, again, "mitigate", "M", "erin", when=at(START + timedelta(days=7), 60))
    before = ledger_lines(drill)
    refused = drill("action", "close", "A-1", "--retest", again, "--by", "risk", DRILL_FAKE_NOW=at(START, 60 * 24 * 8))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "objective mitigate scored 60" in refused.stderr
    assert "needs P or S" in refused.stderr
    assert ledger_lines(drill) == before

    # A later retest rated S closes it.
    later = START + timedelta(days=14)
    fixed = run_drill(drill, later)
    observe(drill, fixed, "mitigate", "S", "frank", when=at(later, 60))
    drill("action", "close", "A-1", "--retest", fixed, "--by", "risk", ok=True, DRILL_FAKE_NOW=at(later, 90))
    shown = json.loads(drill("action", "show", "A-1", ok=True).stdout)
    assert (shown["status"], shown["retest"], shown["overdue"]) == ("closed", fixed, False)
    assert json.loads(drill("action", "list", "--open", "--json", ok=True).stdout) == []
    assert_chained(ledger_lines(drill), ["action.opened", "action.closed"])


def test_actions_take_a_run_by_the_short_names_every_command_takes(drill: Drill) -> None:
    """SPEC §5: a run is named by its id, a unique prefix or its last four hex digits, everywhere."""
    run_id = run_drill(drill, START)
    add = ("action", "add", "--title", "Refresh the phone list", "--owner", "lead=alice", "--due", "2027-01-15")
    drill(*add, "--from", f"{run_id[-4:]}:mitigate", "--by", "risk", ok=True, DRILL_FAKE_NOW=at(START, 60))
    later = START + timedelta(days=7)
    fixed = run_drill(drill, later)
    observe(drill, fixed, "mitigate", "P", "erin", when=at(later, 60))
    close = ("action", "close", "A-1", "--retest", fixed[:-3], "--by", "risk")
    drill(*close, ok=True, DRILL_FAKE_NOW=at(later, 90))
    shown = json.loads(drill("action", "show", "A-1", ok=True).stdout)
    assert (shown["from_run"], shown["objective"], shown["retest"]) == (run_id, "mitigate", fixed)


def test_an_action_from_the_newest_open_run_of_a_playbook_names_its_objective_after_it(drill: Drill) -> None:
    """`--from last:PLAYBOOK:OBJECTIVE`: the run is `last:PLAYBOOK`, the objective what follows."""
    run_id = drill("start", SCENARIO, "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(START, 0)).stdout.strip()
    add = ("action", "add", "--title", "Refresh the phone list", "--owner", "lead=alice", "--due", "2027-01-15")
    drill(*add, "--from", "last:core-network-outage:mitigate", "--by", "risk", ok=True, DRILL_FAKE_NOW=at(START, 5))
    shown = json.loads(drill("action", "show", "A-1", ok=True).stdout)
    assert (shown["from_run"], shown["objective"]) == (run_id, "mitigate")


@pytest.mark.parametrize(
    ("due", "says"),
    [
        ("2027-02-29", "--due '2027-02-29': no such day (day is out of range for month)"),
        ("15/01/2027", "--due '15/01/2027': write a date as YYYY-MM-DD, e.g. 2027-01-15"),
    ],
)
def test_a_due_date_that_is_no_day_is_refused_saying_why(drill: Drill, due: str, says: str) -> None:
    run_id = run_drill(drill, START)
    add = ("action", "add", "--title", "Refresh the phone list", "--owner", "lead=alice", "--due", due)
    done = drill(*add, "--from", f"{run_id}:mitigate", "--by", "risk", DRILL_FAKE_NOW=at(START, 60))
    assert (done.returncode, done.stderr) == (2, f"drill: {says}\n")
    assert not (drill.root / "logs" / "actions.jsonl").exists()


def assert_chained(lines: list[bytes], kinds: list[str]) -> None:
    """The ledger verifies as SPEC §4 says a reviewer verifies a record, with no `run` or `t`."""
    prev = "0" * 64
    for number, line in enumerate(lines, start=1):
        body, _, rest = line.rpartition(b',"hash":"')
        event = json.loads(line)
        assert hashlib.sha256(body).hexdigest() == rest[:-2].decode() == event["hash"]
        assert (event["seq"], event["prev"]) == (number, prev)
        assert "run" not in event
        assert "t" not in event
        prev = event["hash"]
    assert [json.loads(line)["event"] for line in lines] == kinds


@pytest.mark.parametrize(
    ("who", "objective", "rating", "fragment"),
    [
        ("bob", "detect", "P", "bob is not an evaluator"),
        ("erin", "recover", "P", "unknown objective 'recover'; objectives: detect, inform, mitigate"),
        ("erin", "detect", "X", "unknown rating 'X'; allowed: P, S, M, U"),
    ],
)
def test_observe_refuses_in_one_line_and_writes_nothing(
    drill: Drill, who: str, objective: str, rating: str, fragment: str
) -> None:
    run_id = run_drill(drill, START)
    before = drill.record(run_id).read_bytes()
    done = drill("observe", run_id, objective, "--rating", rating, "--by", who, DRILL_FAKE_NOW=at(START, 60))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert fragment in done.stderr
    assert drill.record(run_id).read_bytes() == before


def test_observe_refuses_an_incident_and_a_simulation(drill: Drill) -> None:
    incident = drill.open(DRILL_FAKE_NOW=at(START, 0))
    drill("simulate", SCENARIO, ok=True)
    simulation = next(p.stem for p in (drill.root / "logs" / "runs").glob("*.jsonl") if p.stem != incident)
    for run_id, mode in ((incident, "an incident"), (simulation, "a simulation")):
        before = drill.record(run_id).read_bytes()
        done = drill("observe", run_id, "detect", "--rating", "P", "--by", "erin")
        assert (done.returncode, done.stderr.count("\n")) == (2, 1)
        assert f"is {mode}: only drills are rated" in done.stderr
        assert drill.record(run_id).read_bytes() == before


def test_an_evaluator_assigned_during_the_drill_may_rate_it(drill: Drill) -> None:
    run_id = drill("start", SCENARIO, "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(START, 0)).stdout.strip()
    refused = drill("observe", run_id, "detect", "--rating", "S", "--by", "grace", DRILL_FAKE_NOW=at(START, 1))
    assert "evaluators: erin, frank" in refused.stderr
    drill("assign", run_id, "evaluator", "grace", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(START, 2))
    observe(drill, run_id, "detect", "S", "grace", when=at(START, 3))
    document = json.loads(drill("export", run_id, "--format", "json", ok=True, DRILL_FAKE_NOW=at(START, 4)).stdout)
    assert document["evaluation"]["evaluators"] == ["erin", "frank", "grace"]
    assert document["evaluation"]["objectives"][0]["ratings"] == [{"by": "grace", "rating": "S", "points": 80}]
    assert document["run"]["participants"] == {"lead": "alice", "noc": "bob", "comms": "carol"}
    incident = drill.open(DRILL_FAKE_NOW=at(START, 0))
    done = drill("assign", incident, "evaluator", "grace", "--by", "alice", DRILL_FAKE_NOW=at(START, 1))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "evaluators rate drills only" in done.stderr


def test_an_overdue_action_is_listed_and_notified_at_most_once_a_day(drill: Drill, tmp_path: Path) -> None:
    received = command_notifier(drill.root, tmp_path, ["action.overdue"])
    run_id = run_drill(drill, START)
    drill(
        "action", "add", "--from", f"{run_id}:mitigate", "--title", "Refresh the on-call phone list",
        "--owner", "lead=alice", "--due", "2026-12-01", "--by", "risk", ok=True, DRILL_FAKE_NOW=at(START, 60),
    )  # fmt: skip

    def scheduler_pass(now: str) -> list[str]:
        drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=now)
        return received.read_text(encoding="utf-8").split() if received.exists() else []

    def overdue(now: str) -> list[str]:
        listed = drill("action", "list", "--overdue", "--json", ok=True, DRILL_FAKE_NOW=now).stdout
        return [a["action"] for a in json.loads(listed)]

    assert (overdue("2026-12-01T23:00:00Z"), scheduler_pass("2026-12-01T23:00:00Z")) == ([], [])
    assert overdue("2026-12-02T09:00:00Z") == ["A-1"]
    first = scheduler_pass("2026-12-02T09:00:00Z")
    assert len(first) == 1
    assert scheduler_pass("2026-12-02T17:00:00Z") == first  # once that day
    assert len(scheduler_pass("2026-12-03T09:00:00Z")) == 2  # and again the next
    covered = drill("coverage", "--json", DRILL_FAKE_NOW="2026-12-03T09:00:00Z").stdout
    core = next(row for row in json.loads(covered) if row["playbook"] == "core-network-outage")
    assert (core["open_actions"], core["overdue_actions"]) == (1, 1)
    kinds = [json.loads(line)["event"] for line in ledger_lines(drill)]
    assert kinds == ["action.opened", "action.overdue", "notify.sent", "action.overdue", "notify.sent"]


def test_the_years_exercise_plan_lists_each_scheduled_drill_with_its_purpose_and_dates(drill: Drill) -> None:
    now = "2026-12-01T00:00:00Z"
    drill("schedule", "add", SCENARIO, "--cron", "0 9 1 3,9 *", "--tz", "Asia/Shanghai", ok=True, DRILL_FAKE_NOW=now)
    drill("schedule", "add", "data-leak-tabletop", "--at", "2028-06-15T14:00", ok=True, DRILL_FAKE_NOW=now)
    plan = drill("schedule", "export", "--format", "md", "--year", "2027", ok=True, DRILL_FAKE_NOW=now).stdout
    assert plan.startswith("# 2027 年度演练计划 / Exercise plan 2027\n")
    rows = [line for line in plan.splitlines() if line.startswith("| 1 ")]
    assert len(rows) == 1  # the data-leak drill falls in 2028
    cells = [cell.strip() for cell in rows[0].strip("|").split(" | ")]
    assert cells[1:5] == [
        "Q4 core network outage drill",
        "Acknowledge the MME alarm and open the bridge; Reroute subscribers to a healthy MME pool; "
        "Tell customers and the regulator in time",
        "桌面推演 / tabletop",
        "2027-03-01 09:00 Asia/Shanghai; 2027-09-01 09:00 Asia/Shanghai",
    ]
    table = drill("schedule", "export", "--format", "csv", "--year", "2028", ok=True, DRILL_FAKE_NOW=now).stdout
    listed = list(csv.reader(io.StringIO(table.removeprefix("\ufeff"))))
    assert [row[1] for row in listed[1:]] == [
        "Q4 core network outage drill",
        "客户信息泄露桌面推演 / Customer data leak tabletop exercise",
    ]
