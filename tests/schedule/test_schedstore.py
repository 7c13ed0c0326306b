"""The schedule tables and the fire ledger: rows, claims, and a race between real processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock
from drillkit.model.errors import NotFound, UsageError
from drillkit.schedule.store import Fire, ScheduleStore, new_schedule, next_fires_by_playbook

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SCENARIO = "core-outage-q4"


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


def _add(ws: Workspace, when: tuple[str, str] = ("cron", "0 9 * * *"), schedule_id: str | None = None) -> str:
    store = ScheduleStore.open(ws)
    try:
        return new_schedule(
            store, ws, NOW, scenario=SCENARIO, when=when, tz="Asia/Shanghai", schedule_id=schedule_id
        ).id
    finally:
        store.close()


def _claim(nominal: datetime) -> Fire:
    return Fire(schedule=SCENARIO, nominal=nominal, status="claimed", start_at=nominal, decided_at=nominal)


def test_the_database_is_created_group_readable_in_wal_mode(ws: Workspace) -> None:
    previous = os.umask(0o000)
    try:
        _add(ws)
    finally:
        os.umask(previous)
    db = ws.logs / "schedule.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
    store = ScheduleStore.open(ws)
    try:
        assert store.schedules()[0].id == SCENARIO
        assert (ws.logs / "schedule.db-wal").exists()
        assert stat.S_IMODE((ws.logs / "schedule.db-wal").stat().st_mode) == 0o640
    finally:
        store.close()


def test_ids_default_to_the_scenario_and_stay_unique(ws: Workspace) -> None:
    assert _add(ws) == SCENARIO
    assert _add(ws) == f"{SCENARIO}-2"
    with pytest.raises(UsageError, match="exists already"):
        _add(ws, schedule_id=SCENARIO)
    with pytest.raises(UsageError, match="lowercase"):
        _add(ws, schedule_id="Bad Id")


def test_a_schedule_needs_a_valid_scenario_and_a_future_fire(ws: Workspace) -> None:
    store = ScheduleStore.open(ws)
    try:
        with pytest.raises(NotFound, match="no scenario"):
            new_schedule(store, ws, NOW, scenario="nope", when=("cron", "@daily"), tz="UTC")
        with pytest.raises(UsageError, match="never fires"):
            new_schedule(store, ws, NOW, scenario=SCENARIO, when=("at", "2020-01-01T09:00"), tz="UTC")
        assert store.schedules() == []
    finally:
        store.close()


def test_changes_move_the_counter_and_unknown_ids_are_not_found(ws: Workspace) -> None:
    _add(ws)
    store = ScheduleStore.open(ws)
    try:
        before = store.changed()
        store.set_paused(SCENARIO, True, NOW)
        assert store.get(SCENARIO).paused
        store.set_paused(SCENARIO, False, NOW + timedelta(days=3))
        resumed = store.get(SCENARIO)
        assert not resumed.paused
        assert resumed.handled_until == NOW + timedelta(days=3)
        store.remove(SCENARIO, NOW)
        assert store.changed() == before + 3
        with pytest.raises(NotFound, match="no schedule 'core-outage-q4'"):
            store.remove(SCENARIO, NOW)
    finally:
        store.close()


def test_a_fire_is_claimed_once_and_the_cursor_moves(ws: Workspace) -> None:
    _add(ws)
    store = ScheduleStore.open(ws)
    nominal = NOW + timedelta(hours=1)
    try:
        assert store.decide([_claim(nominal)], SCENARIO, nominal) == [True]
        assert store.decide([_claim(nominal)], SCENARIO, nominal) == [False]
        assert store.get(SCENARIO).handled_until == nominal
        assert [f.status for f in store.waiting()] == ["claimed"]
        store.settle(store.waiting()[0], "started", now=nominal, run="20261129T090000Z-core-network-outage-abcd")
        assert store.waiting() == []
        assert store.last_fires()[SCENARIO].run == "20261129T090000Z-core-network-outage-abcd"
    finally:
        store.close()


_RACER = """
import sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from drillkit.schedule.store import Fire, ScheduleStore
from drillkit.config.workspace import Workspace
go = float(sys.argv[2])
while time.time() < go:
    time.sleep(0.001)
store = ScheduleStore.open(Workspace(Path(sys.argv[1])))
base = datetime(2026, 11, 29, 9, tzinfo=UTC)
for n in range(40):
    nominal = base + timedelta(minutes=n)
    fire = Fire(schedule="core-outage-q4", nominal=nominal, status="claimed", start_at=nominal, decided_at=nominal)
    if store.decide([fire], "core-outage-q4", nominal) == [True]:
        print(n)
store.close()
"""


@pytest.mark.slow
def test_processes_racing_for_the_same_fires_win_each_exactly_once(ws: Workspace) -> None:
    _add(ws)
    go = str(time.time() + 1.0)
    racers = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(ws.root), go], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    wins = [int(line) for racer in racers for line in racer.communicate(timeout=60)[0].split()]
    assert all(racer.returncode == 0 for racer in racers)
    assert sorted(wins) == list(range(40))


def test_next_fires_by_playbook_skips_paused_and_broken_schedules(ws: Workspace) -> None:
    clock = VirtualClock(NOW)
    _add(ws, when=("cron", "0 9 * * *"))
    _add(ws, when=("every", "3600"), schedule_id="hourly")
    store = ScheduleStore.open(ws)
    try:
        store.set_paused("hourly", True, NOW)
    finally:
        store.close()
    assert next_fires_by_playbook(ws, clock) == {"core-network-outage": "2026-11-30T01:00:00.000Z"}
    (ws.scenarios / f"{SCENARIO}.yaml").unlink()
    assert next_fires_by_playbook(ws, clock) == {}


def test_next_fires_by_playbook_skip_fires_a_blackout_window_will_skip(ws: Workspace) -> None:
    clock = VirtualClock(NOW)
    _add(ws, when=("cron", "0 9 * * *"))  # 09:00 in Shanghai: 2026-11-30T01:00Z is next
    toml = ws.root / "drill.toml"
    toml.write_text(
        'timezone = "Asia/Shanghai"\n[schedule]\nblackout = [{start = "2026-11-30T00:00", end = "2026-12-01T00:00"}]\n'
    )
    assert next_fires_by_playbook(ws, clock) == {"core-network-outage": "2026-12-01T01:00:00.000Z"}
    toml.write_text('[schedule]\nblackout = [{from = "00:00", to = "24:00"}]\n')  # never again
    assert next_fires_by_playbook(ws, clock) == {}
