"""The SQLite adapter's own promises (the port's are in `test_schedule_contract.py`)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock
from drillkit.schedule.store import open_store
from drillkit.services.schedules import add_schedule

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SCENARIO = "core-outage-q4"


def test_the_database_is_created_group_readable_in_wal_mode(workspace: Path) -> None:
    ws = Workspace(workspace)
    previous = os.umask(0o000)
    try:
        add_schedule(ws, VirtualClock(NOW), scenario=SCENARIO, when=("cron", "0 9 * * *"), tz="Asia/Shanghai")
    finally:
        os.umask(previous)
    db = ws.logs / "schedule.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
    with open_store(ws) as store:
        assert store.schedules()[0].id == SCENARIO
        assert (ws.logs / "schedule.db-wal").exists()
        assert stat.S_IMODE((ws.logs / "schedule.db-wal").stat().st_mode) == 0o640
