"""The schedule store contract: every adapter keeps these promises (one fixture, one param per adapter).

The store is driven through the port only; the adapter's name picks its class and how to damage it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.errors import NotFound, RecordError, UsageError
from drillkit.schedule.port import DAMAGED, Fire, Schedule, ScheduleStore, UnreadableSchedule
from drillkit.schedule.postgres import PostgresScheduleStore
from drillkit.schedule.sqlite import SqliteScheduleStore
from tests.conftest import edit_schedule_row
from tests.teamdb import TeamDb

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
RUN = "20261129T090000Z-core-network-outage-abcd"


@dataclass(frozen=True)
class Adapter:
    """One backend: its store class, a way to leave its store damaged, and a way to edit one
    schedule's row behind drillkit's back (`edit(ws, id, column, value)`), as a person with the
    database at hand would."""

    store: type[ScheduleStore]
    damage: Callable[[Workspace], None]
    edit: Callable[[Workspace, str, str, str], None]

    def open(self, ws: Workspace) -> ScheduleStore:
        return self.store.open(ws)


def _damage_sqlite(ws: Workspace) -> None:
    ws.logs.mkdir(parents=True, exist_ok=True)
    (ws.logs / "schedule.db").write_bytes(b"not a database, just some bytes\n" * 64)


def _damage_postgres(ws: Workspace) -> None:
    import psycopg

    with psycopg.connect(_owner_of(ws), autocommit=True) as owner:
        owner.execute("ALTER TABLE drill.fire RENAME TO fire_aside")


def _edit_postgres(ws: Workspace, schedule_id: str, column: str, value: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_owner_of(ws), autocommit=True) as owner:
        statement = sql.SQL("UPDATE drill.schedule SET {} = %s WHERE id = %s").format(sql.Identifier(column))
        owner.execute(statement, (value, schedule_id))


ADAPTERS = {
    "sqlite": Adapter(SqliteScheduleStore, _damage_sqlite, lambda ws, *edit: edit_schedule_row(ws.root, *edit)),
    "postgres": Adapter(PostgresScheduleStore, _damage_postgres, _edit_postgres),
}
_OWNERS: dict[Path, str] = {}  # workspace root → the team database owner's URL


def _owner_of(ws: Workspace) -> str:
    return _OWNERS[ws.root]


@pytest.fixture(params=["sqlite", "postgres"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return ADAPTERS[request.param]


@pytest.fixture
def ws(workspace: Path, adapter: Adapter, request: pytest.FixtureRequest) -> Workspace:
    """The workspace; for the team store, its drill.toml names a fresh database, as a scheduler."""
    if adapter.store is PostgresScheduleStore:
        team_db: TeamDb = request.getfixturevalue("team_db")
        (workspace / "drill.toml").write_text(f'[store]\nurl = "{team_db.scheduler}"\n', encoding="utf-8")
        _OWNERS[workspace] = team_db.owner
    return Workspace(workspace)


def schedule(schedule_id: str, kind: str = "cron", expr: str = "0 9 * * *") -> Schedule:
    return Schedule(
        id=schedule_id,
        scenario="core-outage-q4",
        kind=kind,
        expr=expr,
        tz="Asia/Shanghai",
        jitter=600,
        grace=1800,
        anchor=NOW,
        handled_until=NOW,
        created=NOW + timedelta(milliseconds=250),  # times are kept to the millisecond
    )


def fire(schedule_id: str, hours: int, status: str = "claimed", **extra: Any) -> Fire:
    nominal = NOW + timedelta(hours=hours)
    return replace(
        Fire(schedule=schedule_id, nominal=nominal, status=status, start_at=nominal, decided_at=NOW), **extra
    )


def test_schedules_round_trip_add_list_pause_resume_remove(adapter: Adapter, ws: Workspace) -> None:
    weekly, hourly = schedule("weekly", "cron", "0 9 * * mon"), schedule("hourly", "every", "3600")
    with adapter.open(ws) as store:
        start = store.changed()
        store.add(weekly)
        store.add(hourly)
        assert store.schedules() == [hourly, weekly]
        assert store.get("weekly") == weekly
        with pytest.raises(UsageError, match="'weekly' exists already"):
            store.add(weekly)
        store.set_paused("weekly", True, NOW + timedelta(days=1))
        assert store.get("weekly").paused
        store.set_paused("weekly", False, NOW + timedelta(days=3))
        assert store.get("weekly") == replace(weekly, handled_until=NOW + timedelta(days=3))
        store.remove("hourly", NOW)
        assert store.changed() == start + 5
    with adapter.open(ws) as again:
        assert [s.id for s in again.schedules()] == ["weekly"]
        for refused in (lambda: again.get("hourly"), lambda: again.remove("hourly", NOW)):
            with pytest.raises(NotFound, match="no schedule 'hourly'; schedules: weekly"):
                refused()
        with pytest.raises(NotFound, match="no schedule 'hourly'"):
            again.set_paused("hourly", True, NOW)


def test_a_reader_sees_what_was_written_and_a_missing_store_reads_empty(adapter: Adapter, ws: Workspace) -> None:
    with adapter.store.reading(ws) as empty:
        assert (empty.schedules(), empty.fires()) == ([], [])
    assert not adapter.store.exists(ws)  # reading creates nothing
    with adapter.open(ws) as store:
        store.add(schedule("daily"))
        store.decide([fire("daily", 1)], "daily", NOW + timedelta(hours=1))
    assert adapter.store.exists(ws)
    with adapter.store.reading(ws) as reader:
        assert [s.id for s in reader.schedules()] == ["daily"]
        assert [f.status for f in reader.fires()] == ["claimed"]


def test_a_fire_is_claimed_once_and_the_cursor_only_moves_forward(adapter: Adapter, ws: Workspace) -> None:
    with adapter.open(ws) as store:
        store.add(schedule("daily"))
        later = NOW + timedelta(hours=2)
        assert store.decide([fire("daily", 2)], "daily", later) == [True]
        assert store.decide([fire("daily", 2, "missed"), fire("daily", 3)], "daily", later) == [False, True]
        assert store.decide([fire("daily", 1)], "daily", NOW + timedelta(hours=1)) == [True]
        assert store.get("daily").handled_until == later
        assert [(f.nominal, f.status) for f in store.fires("daily")] == [
            (NOW + timedelta(hours=n), "claimed") for n in (1, 2, 3)
        ]


def test_the_ledger_keeps_every_outcome(adapter: Adapter, ws: Workspace) -> None:
    with adapter.open(ws) as store:
        for schedule_id in ("a", "b"):
            store.add(schedule(schedule_id))
        outage = fire("a", 1, "missed", missed_from=NOW - timedelta(days=2), missed_count=3, detail="grace 1800s")
        blacked = fire("a", 2, "blackout", detail="blackout window 1")
        store.decide([outage, blacked, fire("a", 3), fire("a", 4), fire("a", 5)], "a", NOW + timedelta(hours=5))
        store.decide([fire("b", 6), fire("b", 7)], "b", NOW + timedelta(hours=7))
        assert [f.start_at for f in store.waiting()] == [NOW + timedelta(hours=n) for n in (3, 4, 5, 6, 7)]
        store.settle(fire("a", 3), "started", now=NOW + timedelta(hours=3), run=RUN)
        store.settle(fire("a", 4), "failed", now=NOW + timedelta(hours=4), detail="no scenario 'x'")
        store.settle(fire("a", 5), "missed", now=NOW + timedelta(hours=9), detail="not started within grace")
        store.settle(fire("a", 1), "started", now=NOW, run="not-this-one")  # only a claimed fire moves on
        store.remove("b", NOW + timedelta(hours=5))
        ledger = store.fires()
        assert [(f.schedule, f.status) for f in ledger] == [
            ("a", "missed"), ("a", "blackout"), ("a", "started"), ("a", "failed"), ("a", "missed"),
            ("b", "cancelled"), ("b", "cancelled"),
        ]  # fmt: skip
        assert ledger[0] == outage
        assert ledger[1] == blacked
        assert (ledger[2].run, ledger[2].started_at) == (RUN, NOW + timedelta(hours=3))
        assert ledger[3].detail == "no scenario 'x'"
        assert (ledger[5].detail, ledger[5].decided_at) == ("schedule removed", NOW + timedelta(hours=5))
        assert store.waiting() == []
        assert store.linked_runs() == {RUN}
        assert {k: (f.nominal, f.status) for k, f in store.last_fires().items()} == {
            "a": (NOW + timedelta(hours=5), "missed"),
            "b": (NOW + timedelta(hours=7), "cancelled"),
        }
        assert [f.status for f in store.fires("b")] == ["cancelled", "cancelled"]


def test_the_last_started_fire_is_found_among_skipped_and_missed_ones(adapter: Adapter, ws: Workspace) -> None:
    with adapter.open(ws) as store:
        store.add(schedule("a"))
        assert store.last_started("a") is None
        store.decide([fire("a", n) for n in (1, 2, 3)], "a", NOW + timedelta(hours=3))
        store.settle(fire("a", 1), "started", now=NOW + timedelta(hours=1), run="first")
        store.settle(fire("a", 2), "started", now=NOW + timedelta(hours=2), run=RUN)
        store.settle(fire("a", 3), "skipped", now=NOW + timedelta(hours=3), detail=f"overlap: {RUN} still running")
        store.decide([fire("a", 4, "missed", missed_count=1)], "a", NOW + timedelta(hours=4))
        last = store.last_started("a")
        assert last is not None
        assert (last.nominal, last.run) == (NOW + timedelta(hours=2), RUN)
        assert [(f.status, f.detail) for f in store.fires("a")][2] == ("skipped", f"overlap: {RUN} still running")


_RACER = """
import importlib, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from drillkit.config.workspace import Workspace
from drillkit.schedule.port import Fire
module, name = sys.argv[3].split(":")
adapter = getattr(importlib.import_module(module), name)
go = float(sys.argv[2])
while time.time() < go:
    time.sleep(0.001)
store = adapter.open(Workspace(Path(sys.argv[1])))
base = datetime(2026, 11, 29, 9, tzinfo=UTC)
for n in range(40):
    nominal = base + timedelta(minutes=n)
    fire = Fire(schedule="daily", nominal=nominal, status="claimed", start_at=nominal, decided_at=nominal)
    if store.decide([fire], "daily", nominal) == [True]:
        print(n)
store.close()
"""


@pytest.mark.slow
def test_processes_racing_for_the_same_fires_win_each_exactly_once(adapter: Adapter, ws: Workspace) -> None:
    with adapter.open(ws) as store:
        store.add(schedule("daily"))
    go, name = str(time.time() + 1.0), f"{adapter.store.__module__}:{adapter.store.__qualname__}"
    racers = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(ws.root), go, name], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    wins = [int(line) for racer in racers for line in racer.communicate(timeout=60)[0].split()]
    assert all(racer.returncode == 0 for racer in racers)
    assert sorted(wins) == list(range(40))
    with adapter.open(ws) as store:
        assert len(store.fires("daily")) == 40


def test_a_damaged_store_is_refused_with_its_message(adapter: Adapter, ws: Workspace) -> None:
    adapter.damage(ws)
    with pytest.raises(RecordError, match=re.escape(DAMAGED)):
        adapter.open(ws)
    with pytest.raises(RecordError), adapter.store.reading(ws):
        pass


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("tz", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("expr", "0 9 * *", "cron expression '0 9 * *' needs five fields"),
    ],
)
def test_a_row_that_cannot_be_read_is_set_aside_named_and_can_still_be_removed(
    adapter: Adapter, ws: Workspace, column: str, value: str, problem: str
) -> None:
    with adapter.open(ws) as store:
        for schedule_id in ("a", "b", "c"):
            store.add(schedule(schedule_id))
        store.decide([fire("b", 1)], "b", NOW + timedelta(hours=1))
    adapter.edit(ws, "b", column, value)
    with adapter.store.reading(ws) as reader:
        stored = reader.stored()
        assert [s.id for s in stored.readable] == [s.id for s in reader.schedules()] == ["a", "c"]
        [unreadable] = stored.unreadable
        assert unreadable == UnreadableSchedule(id="b", problem=unreadable.problem)
        assert unreadable.problem.startswith(problem)
        assert stored.ids == ["a", "b", "c"]
    with adapter.open(ws) as store:
        with pytest.raises(UsageError, match=f"^schedule 'b' cannot be read: {re.escape(problem)}"):
            store.get("b")
        with pytest.raises(NotFound, match="no schedule 'x'; schedules: a, b, c"):
            store.get("x")
        store.set_paused("b", True, NOW)
        store.remove("b", NOW)
        assert store.stored().ids == ["a", "c"]
        assert [(f.schedule, f.status) for f in store.fires()] == [("b", "cancelled")]
