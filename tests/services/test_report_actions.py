"""`drill report` counts corrective actions (SPEC §10) opened and closed within its period and
overdue at the period's end, overall and per playbook, in json, md and html, en and zh, on a
virtual clock: the same question asked on a later day counts the actions overdue by then.

The workspace (in-process CLI, `DRILL_FAKE_NOW`): a drill of core-network-outage on 29 November
rated M on mitigate; A-1 from it (due 4 December), A-2 from an incident of idc-ddos (due
30 November) on 30 November, A-3 from the drill (due 31 January) on 3 December; a retest drill
on 6 December rated S on mitigate closes A-1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_evaluation import SCENARIO, SCRIPT
from tests.engine.test_metrics import invoke

FIRST = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
RETEST = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def at(when: datetime, minutes: float = 0) -> str:
    return (when + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(root: Path, *args: str, now: str) -> str:
    done = invoke(root, *args, now=now)
    assert done.exit_code == 0, done.output
    return done.stdout.strip()


def rated_drill(root: Path, start: datetime, mitigate: str) -> str:
    """The sample drill by hand, resolved at T+50m, its mitigate objective rated by frank."""
    run_id = ok(root, "start", SCENARIO, "--detach", "--by", "alice", now=at(start)).splitlines()[0]
    for minute, who, command, what in SCRIPT:
        ok(root, command, run_id, what, "--by", who, now=at(start, minute))
    ok(root, "observe", run_id, "mitigate", "--rating", mitigate, "--by", "frank", now=at(start, 60))
    return run_id


def add(root: Path, source: str, owner: str, due: str, now: str) -> str:
    args = ["action", "add", "--from", source, "--title", f"fix by {due}", "--owner", owner, "--due", due]
    return ok(root, *args, "--by", "risk", now=now)


def open_incident(root: Path, now: str) -> str:
    return ok(root, "open", "idc-ddos", "--severity", "II", "--as", "lead=dave", "--by", "dave", now=now)


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report-actions") / "ws"
    assert invoke(root.parent, "init", str(root)).exit_code == 0
    first = rated_drill(root, FIRST, "M")
    assert add(root, f"{first}:mitigate", "lead=alice", "2026-12-04", at(FIRST, 90)) == "A-1"
    incident = open_incident(root, at(FIRST, 60 * 24))
    assert add(root, incident, "lead=dave", "2026-11-30", at(FIRST, 60 * 25)) == "A-2"
    assert add(root, f"{first}:detect", "noc=bob", "2027-01-31", "2026-12-03T10:00:00Z") == "A-3"
    retest = rated_drill(root, RETEST, "S")
    ok(root, "action", "close", "A-1", "--retest", retest, "--by", "risk", now=at(RETEST, 90))
    return root


def counted(root: Path, *period: str, now: str) -> dict[str, Any]:
    document = json.loads(ok(root, "report", "--format", "json", *period, now=now))
    found: dict[str, Any] = document["actions"]
    return found


def counts(opened: int, closed: int, overdue: int) -> dict[str, int]:
    return {"opened": opened, "closed": closed, "overdue": overdue}


def test_each_month_counts_the_actions_opened_closed_and_overdue_in_it(actions: Path) -> None:
    november = counted(actions, "--since", "2026-11-01", "--until", "2026-11-30", now="2026-12-20T09:00:00Z")
    # opened; at the month's end A-2 (due 30 November) is overdue, A-1 not yet due.
    assert november == {
        "as_of": "2026-12-01",
        "overall": counts(2, 0, 1),
        "playbooks": {"core-network-outage": counts(1, 0, 0), "idc-ddos": counts(1, 0, 1)},
    }
    december = counted(actions, "--since", "2026-12-01", "--until", "2026-12-31", now="2026-12-20T09:00:00Z")
    # A-3 opened, A-1 closed; on the 20th (the month has not ended) A-2 is still overdue.
    assert december["as_of"] == "2026-12-20"
    assert december["overall"] == counts(1, 1, 1)
    assert december["playbooks"] == {"core-network-outage": counts(1, 1, 0), "idc-ddos": counts(0, 0, 1)}


def test_an_action_closed_after_the_period_is_overdue_at_its_end(actions: Path) -> None:
    """A-1, due 4 December and closed on the 6th, was overdue at the end of the 5th, not of the 6th."""
    now = "2026-12-20T09:00:00Z"
    assert counted(actions, "--since", "2026-12-01", "--until", "2026-12-05", now=now)["overall"] == counts(1, 0, 2)
    assert counted(actions, "--since", "2026-12-01", "--until", "2026-12-06", now=now)["overall"] == counts(1, 1, 1)


def test_the_same_report_on_a_later_day_counts_what_is_overdue_by_then(actions: Path) -> None:
    assert counted(actions, now="2027-01-31T12:00:00Z")["overall"] == counts(3, 1, 1)  # A-3 due today
    assert counted(actions, now="2027-02-01T08:00:00Z")["overall"] == counts(3, 1, 2)  # and overdue the next day
    only = counted(actions, "--playbook", "idc-ddos", now="2027-02-01T08:00:00Z")
    assert only["overall"] == counts(1, 0, 1)
    assert list(only["playbooks"]) == ["idc-ddos"]


@pytest.mark.parametrize(
    ("fmt", "lang", "expected"),
    [
        ("md", "en", ["## Corrective actions", "| Playbook | Opened | Closed | Overdue |", "| idc-ddos | 0 | 0 | 1 |"]),
        ("md", "zh", ["## 整改项", "| 应急预案 | 新开 | 已关闭 | 逾期 |", "| 全部预案 | 1 | 1 | 1 |"]),
        ("html", "en", ["<h2>Corrective actions</h2>", "<td>All playbooks</td><td>1</td><td>1</td><td>1</td>"]),
        ("html", "zh", ["<h2>整改项</h2>", "<td>idc-ddos</td><td>0</td><td>0</td><td>1</td>", "早于 2026-12-20"]),
    ],
)
def test_markdown_and_html_show_the_counts_in_a_period_without_incidents(
    actions: Path, fmt: str, lang: str, expected: list[str]
) -> None:
    """Drills are left out of the run figures by default, but their actions are counted."""
    december = ["--since", "2026-12-01", "--until", "2026-12-31"]  # days in UTC, the default zone
    text = ok(actions, "report", "--format", fmt, "--lang", lang, *december, now="2026-12-20T09:00:00Z")
    for fragment in [*expected, "No runs match." if lang == "en" else "没有符合条件的运行。"]:
        assert fragment in text, text


def test_a_report_asked_again_after_an_action_is_opened_counts_it(tmp_path: Path) -> None:
    """The last answer is kept (read back while nothing changed), but never past a new action."""
    root = tmp_path / "ws"
    assert invoke(tmp_path, "init", str(root)).exit_code == 0
    now = "2026-12-20T09:00:00Z"
    incident = open_incident(root, now)
    assert counted(root, now=now)["overall"] == counts(0, 0, 0)
    add(root, incident, "lead=dave", "2027-01-15", now)
    assert counted(root, now=now)["overall"] == counts(1, 0, 0)
