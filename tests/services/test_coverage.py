"""`drill coverage`: last drill from the records, next scheduled drill, overdue by `exercise_every`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.engine.test_metrics import invoke, review_ws

__all__ = ["review_ws"]  # the fixture, used by name


def rows(root: Path, now: str) -> tuple[int, dict[str, dict[str, Any]]]:
    done = invoke(root, "coverage", "--json", now=now)
    return done.exit_code, {row["playbook"]: row for row in json.loads(done.stdout)}


def test_never_drilled_plans_are_overdue(review_ws: Path) -> None:
    code, found = rows(review_ws, "2026-11-29T08:00:00Z")
    assert code == 1
    assert {name: row["status"] for name, row in found.items()} == {
        "core-network-outage": "never drilled",
        "customer-data-leak": "never drilled",
    }
    assert all(row["overdue"] and row["last_drill"] is None for row in found.values())


def test_last_drill_due_date_and_next_scheduled_drill(review_ws: Path) -> None:
    drilled = invoke(review_ws, "start", "hand-handover", "--detach", "--by", "alice", now="2026-05-01T08:00:00Z")
    assert drilled.exit_code == 0
    drilled = invoke(review_ws, "start", "hand-missed-report", "--detach", "--by", "王伟", now="2026-11-01T08:00:00Z")
    assert drilled.exit_code == 0
    assert invoke(review_ws, "simulate", "hand-late-comms", now="2026-11-28T08:00:00Z").exit_code == 1
    schedule = ("schedule", "add", "hand-missed-report", "--at", "2026-12-05T09:00", "--tz", "Asia/Shanghai")
    assert invoke(review_ws, *schedule, now="2026-11-29T08:00:00Z").exit_code == 0

    code, found = rows(review_ws, "2026-10-28T07:59:00Z")  # 180d after 2026-05-01 08:00 is 10-28 08:00
    core = found["core-network-outage"]
    assert (core["last_drill"], core["due_by"], core["overdue"], core["status"]) == (
        "2026-05-01T08:00:00.000Z",  # the simulation on 11-28 is not a drill
        "2026-10-28T08:00:00.000Z",
        False,
        "ok",
    )
    code, found = rows(review_ws, "2026-11-29T08:00:00Z")
    assert code == 1
    assert (found["core-network-outage"]["overdue"], found["core-network-outage"]["status"]) == (True, "overdue")
    leak = found["customer-data-leak"]
    assert (leak["last_drill"], leak["due_by"], leak["next_drill"], leak["status"]) == (
        "2026-11-01T08:00:00.000Z",
        "2027-11-01T08:00:00.000Z",
        "2026-12-05T01:00:00.000Z",  # 09:00 in Shanghai
        "ok",
    )


def test_text_lists_every_playbook_in_the_display_zone(review_ws: Path) -> None:
    invoke(review_ws, "start", "hand-handover", "--detach", "--by", "alice", now="2026-11-01T08:00:00Z")
    done = invoke(review_ws, "--tz", "Asia/Shanghai", "coverage", now="2026-11-29T08:00:00Z")
    assert done.exit_code == 1  # customer-data-leak was never drilled
    lines = done.stdout.splitlines()
    header = ["playbook", "every", "last", "drill", "due", "by", "next", "scheduled", "status", "actions"]
    assert lines[0].split() == header
    core = next(line for line in lines if line.startswith("core-network-outage"))
    assert "180d" in core
    assert "2026-11-01 16:00:00 CST" in core
    assert core.split()[-2:] == ["ok", "-"]  # no corrective actions open
    assert next(line for line in lines if line.startswith("customer-data-leak")).endswith("never drilled  -")


def test_the_next_scheduled_drill_is_one_no_blackout_window_skips(review_ws: Path) -> None:
    schedule = ("schedule", "add", "hand-missed-report", "--cron", "0 9 * * *", "--tz", "Asia/Shanghai")
    assert invoke(review_ws, *schedule, now="2026-11-29T08:00:00Z").exit_code == 0
    blackout = '[schedule]\nblackout = [{days = ["mon"], from = "00:00", to = "24:00", tz = "Asia/Shanghai"}]\n'
    (review_ws / "drill.toml").write_text(blackout)
    _, found = rows(review_ws, "2026-11-29T08:00:00Z")  # a Sunday, after 09:00 in Shanghai
    assert found["customer-data-leak"]["next_drill"] == "2026-12-01T01:00:00.000Z"  # Tuesday, not Monday
    listed = invoke(review_ws, "playbooks", "--json", now="2026-11-29T08:00:00Z")
    assert "2026-11-30T01:00:00.000Z" not in listed.stdout
    assert "2026-12-01T01:00:00.000Z" in listed.stdout
