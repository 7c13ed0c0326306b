"""A stored schedule that can no longer be read (its row edited by hand in `logs/schedule.db`) is
named in one line and left aside: the other schedules are listed, exported and fired as usual;
`schedule remove` is the way out, and `schedule add` still refuses a bad value writing nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.schedule.store import open_store
from tests.conftest import Drill, edit_schedule_row

SCENARIO = "core-outage-q4"
LINE = (
    "drill: schedule 'broken' cannot be read: cron expression '0 9 * *' needs five fields: minute hour"
    " day-of-month month day-of-week; it is left aside (`drill schedule remove broken` deletes it)\n"
)


@pytest.fixture
def pinned(drill: Drill) -> Drill:
    """Three hourly schedules added at 08:00Z, the one between the others then broken by hand."""
    at_eight = drill.pinned()
    for schedule_id in ("early", "broken", "late"):
        at_eight("schedule", "add", SCENARIO, "--every", "1h", "--id", schedule_id, ok=True)
    edit_schedule_row(drill.root, "broken", "kind", "cron")
    edit_schedule_row(drill.root, "broken", "expr", "0 9 * *")
    return at_eight


def _stored(root: Path) -> list[tuple[str, int]]:
    """Each stored row's id and paused flag, and the store's change counter, read with sqlite3."""
    with sqlite3.connect(root / "logs" / "schedule.db") as db:
        rows = db.execute("SELECT id, paused FROM schedules ORDER BY id").fetchall()
        rows += db.execute("SELECT key, value FROM meta").fetchall()
    db.close()
    return rows


def test_list_shows_the_others_names_it_in_one_line_and_exits_1(pinned: Drill) -> None:
    text = pinned("schedule", "list")
    assert (text.returncode, text.stderr) == (1, LINE)
    assert [line.split()[0] for line in text.stdout.splitlines()[2:]] == ["early", "late"]
    listed = pinned("schedule", "list", "--json", "--next", "2")
    assert (listed.returncode, listed.stderr) == (1, LINE)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["next_fires"]) for r in rows] == [
        ("early", ["2026-11-29T09:00:00.000Z", "2026-11-29T10:00:00.000Z"]),
        ("late", ["2026-11-29T09:00:00.000Z", "2026-11-29T10:00:00.000Z"]),
    ]


@pytest.mark.parametrize(
    ("export", "items"),
    [
        (("--format", "ics"), ["schedule early (every 1h)", "schedule late (every 1h)"]),
        (("--format", "csv", "--year", "2026"), ["\n1,", "\n2,"]),  # one plan item per schedule
    ],
)
def test_exports_leave_it_out_name_it_and_exit_1(
    pinned: Drill, tmp_path: Path, export: tuple[str, ...], items: list[str]
) -> None:
    out = tmp_path / "export"
    done = pinned("schedule", "export", *export, "-o", str(out))
    assert (done.returncode, done.stderr) == (1, f"{LINE}wrote {out}\n")
    text = out.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert all(item in text for item in items)
    assert "broken" not in text
    assert "\n3," not in text


@pytest.mark.parametrize("command", ["playbooks", "coverage"])
def test_the_next_drill_column_comes_from_the_others_and_names_it(pinned: Drill, command: str) -> None:
    done = pinned(command, "--json")
    assert done.returncode == (0 if command == "playbooks" else 1)  # coverage: playbooks never drilled are overdue
    assert done.stderr == LINE
    rows = {row.get("id", row.get("playbook")): row for row in json.loads(done.stdout)}
    assert rows["core-network-outage"]["next_drill"] == "2026-11-29T09:00:00.000Z"


def test_history_pause_and_remove_work_and_resume_is_refused_writing_nothing(pinned: Drill) -> None:
    assert pinned("schedule", "history", "broken", "--json", ok=True).stdout.strip() == "[]"
    assert pinned("schedule", "pause", "broken", ok=True).stderr == "schedule broken: paused\n"
    before = _stored(pinned.root)
    resumed = pinned("schedule", "resume", "broken")
    assert (resumed.returncode, resumed.stdout, resumed.stderr) == (2, "", LINE)
    assert _stored(pinned.root) == before
    assert pinned("schedule", "remove", "broken", ok=True).stderr == "schedule broken: removed\n"
    listed = pinned("schedule", "list")
    assert (listed.returncode, listed.stderr) == (0, "")


def test_scheduler_once_fires_the_others_logs_it_once_and_exits_1(pinned: Drill) -> None:
    done = pinned.pinned("2026-11-29T09:00:30Z")("scheduler", "--once")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().endswith("scheduler: 2 claimed, 1 set aside (schedule unreadable), 2 started")
    with open_store(Workspace(pinned.root)) as store:
        fires = store.fires()
    assert [(f.schedule, f.status) for f in fires] == [("early", "started"), ("late", "started")]
    assert all((pinned.root / "logs" / "runs" / f"{f.run}.jsonl").is_file() for f in fires)
    log = [json.loads(line) for line in (pinned.root / "logs" / "scheduler.jsonl").read_text().splitlines()]
    [logged] = [e for e in log if e["event"] == "schedule.unreadable"]
    assert (logged["schedule"], logged["level"]) == ("broken", "error")
    assert logged["error"].startswith("cron expression '0 9 * *' needs five fields")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (("--cron", "0 9 * *"), "cron expression '0 9 * *' needs five fields"),
        (("--at", "9999-12-31T23:30"), "time '9999-12-31T23:30' is out of range"),
        (("--every", "1h", "--tz", "Mars/Base"), "unknown time zone 'Mars/Base'"),
    ],
)
def test_add_still_refuses_a_bad_value_in_one_line_writing_nothing(
    pinned: Drill, when: tuple[str, ...], message: str
) -> None:
    before = _stored(pinned.root)
    done = pinned("schedule", "add", SCENARIO, *when, "--id", "another")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"drill: {message}")
    assert len(done.stderr.splitlines()) == 1
    assert _stored(pinned.root) == before
