"""The SQLite adapter's own promises (the port's are in `test_schedule_contract.py`)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock, format_utc
from drillkit.schedule.store import open_store, reading_store
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


def test_a_reader_while_a_writer_holds_the_store_reads_its_wal_and_creates_nothing(workspace: Path) -> None:
    ws = Workspace(workspace)
    add_schedule(ws, VirtualClock(NOW), scenario=SCENARIO, when=("cron", "0 9 * * *"), tz="UTC")
    with open_store(ws) as writer:
        writer.set_paused(SCENARIO, True, NOW)  # committed to the -wal, not yet to the file
        names = sorted(path.name for path in ws.logs.iterdir())
        assert names == ["schedule.db", "schedule.db-shm", "schedule.db-wal"]
        with reading_store(ws) as reader:
            assert reader.get(SCENARIO).paused
        assert sorted(path.name for path in ws.logs.iterdir()) == names
    with reading_store(ws) as reader:  # the writer has gone, and its -wal and -shm with it
        assert reader.get(SCENARIO).paused
    assert sorted(path.name for path in ws.logs.iterdir()) == ["schedule.db"]


_WRITER = """
import sys
from datetime import timedelta
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import parse_utc
from drillkit.schedule.port import Fire
from drillkit.schedule.store import open_store

ws, start = Workspace(Path(sys.argv[1])), parse_utc(sys.argv[2])
for hour in range(1, int(sys.argv[3]) + 1):
    nominal = start + timedelta(hours=hour)
    fire = Fire(schedule="daily", nominal=nominal, status="missed", start_at=nominal, decided_at=nominal)
    with open_store(ws) as store:  # each write opens and closes, so the -wal comes and goes
        store.decide([fire], "daily", nominal)
"""


@pytest.mark.slow
def test_readers_racing_a_writer_that_comes_and_goes_see_each_commit_whole(workspace: Path) -> None:
    ws, commits = Workspace(workspace), 150
    add_schedule(ws, VirtualClock(NOW), scenario=SCENARIO, when=("cron", "0 9 * * *"), tz="UTC", schedule_id="daily")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(workspace), format_utc(NOW), str(commits)])
    seen = 0
    while seen < commits:
        assert writer.poll() in (None, 0)
        with reading_store(ws) as reader:
            fires, cursor = reader.fires("daily"), reader.get("daily").handled_until
        seen = len(fires)
        assert cursor == NOW + timedelta(hours=seen)  # a fire and the cursor move in one commit
        assert [fire.nominal for fire in fires] == [NOW + timedelta(hours=h) for h in range(1, seen + 1)]
    assert writer.wait(timeout=60) == 0
