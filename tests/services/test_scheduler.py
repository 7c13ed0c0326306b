"""The scheduler daemon on a virtual clock: claims, misses, blackouts, jitter, pause, recovery."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, SystemClock, VirtualClock, format_utc, parse_utc
from drillkit.model.errors import NotFound
from drillkit.schedule.port import Fire
from drillkit.schedule.store import open_store
from drillkit.services.daemon import scheduler_log
from drillkit.services.overdue import notify_overdue
from drillkit.services.scheduler import Conducting, Daemon, run
from drillkit.services.schedules import add_schedule
from tests.conftest import command_notifier, edit_schedule_row

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SCENARIO = "core-outage-q4"


@dataclass
class FileStarter:
    """A real, simple starter: one JSON file per drill it starts."""

    folder: Path
    clock: Clock
    refuse: bool = False
    keep_running: bool = False  # drills run until `end`, instead of ending at once

    def start(self, scenario_id: str) -> str:
        if self.refuse:
            raise NotFound(f"no scenario {scenario_id!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        run_id = f"run-{len(list(self.folder.glob('*.json'))):04d}"
        started = {"scenario": scenario_id, "started": format_utc(self.clock.now()), "ended": not self.keep_running}
        (self.folder / f"{run_id}.json").write_text(json.dumps(started))
        return run_id

    def running(self, run_id: str) -> bool:
        return not json.loads((self.folder / f"{run_id}.json").read_text())["ended"]

    def end(self, run_id: str) -> None:
        path = self.folder / f"{run_id}.json"
        path.write_text(json.dumps(json.loads(path.read_text()) | {"ended": True}))

    def started_since(self, scenario_id: str, since: datetime) -> list[str]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            data = json.loads(path.read_text())
            if data["scenario"] == scenario_id and parse_utc(data["started"]) >= since:
                found.append(path.stem)
        return found

    def runs(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.json"))


@dataclass
class CountingConductor:
    """Conducts nothing but remembers what it was asked to adopt and how often it ticked."""

    open: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    ticks: int = 0

    def open_runs(self) -> list[str]:
        return list(self.open)

    def adopt(self, run_id: str) -> bool:
        self.adopted.append(run_id)
        return True

    def tick(self) -> float:
        self.ticks += 1
        return 0.5

    def close(self) -> None:
        return None


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(NOW)


@pytest.fixture
def starter(ws: Workspace, clock: VirtualClock) -> FileStarter:
    return FileStarter(ws.root / "started", clock)


def add(ws: Workspace, when: tuple[str, str], *, schedule_id: str = "s", jitter: int = 0, grace: int = 3600) -> None:
    add_schedule(
        ws,
        VirtualClock(NOW),
        scenario=SCENARIO,
        when=when,
        tz="UTC",
        jitter=jitter,
        grace=grace,
        schedule_id=schedule_id,
    )


def ledger(ws: Workspace) -> list[Fire]:
    with open_store(ws) as store:
        return store.fires()


def log_events(ws: Workspace) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (ws.logs / "scheduler.jsonl").read_text().splitlines()]


@contextmanager
def daemon_on(
    ws: Workspace, clock: Clock, starter: FileStarter, conducting: Conducting | None = None
) -> Iterator[Daemon]:
    with scheduler_log(ws, clock) as log:
        made = Daemon(ws=ws, clock=clock, starter=starter, conducting=conducting, log=log, rng=random.Random(7))
        try:
            yield made
        finally:
            made.close()


@pytest.fixture
def daemon(ws: Workspace, clock: VirtualClock, starter: FileStarter) -> Iterator[Daemon]:
    with daemon_on(ws, clock, starter) as made:
        yield made


def test_a_due_fire_starts_one_drill_and_the_ledger_and_log_say_so(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    clock.set(datetime(2026, 11, 29, 9, 0, 0, 300_000, tzinfo=UTC))
    daemon.run_pass()
    daemon.run_pass()
    assert starter.runs() == ["run-0000"]
    [fire] = ledger(ws)
    assert (fire.status, fire.run, fire.nominal) == ("started", "run-0000", datetime(2026, 11, 29, 9, tzinfo=UTC))
    started = [e for e in log_events(ws) if e["event"] == "fire.started"]
    assert started == [
        {
            "ts": "2026-11-29T09:00:00.300Z",
            "level": "info",
            "schedule": "s",
            "nominal": "2026-11-29T09:00:00.000Z",
            "scenario": SCENARIO,
            "run": "run-0000",
            "late_by": 0.3,
            "event": "fire.started",
        }
    ]


def test_a_fire_past_its_grace_is_recorded_missed_with_the_whole_outage(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"), grace=600)
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    daemon.run_pass()
    assert starter.runs() == []
    [missed] = ledger(ws)
    assert missed.status == "missed"
    assert (missed.missed_from, missed.nominal, missed.missed_count) == (
        datetime(2026, 11, 29, 9, tzinfo=UTC),
        datetime(2026, 12, 2, 9, tzinfo=UTC),
        4,
    )
    assert [e["count"] for e in log_events(ws) if e["event"] == "fire.missed"] == [4]


def test_of_the_fires_within_grace_only_the_latest_starts_and_the_others_are_coalesced(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "*/10 * * * *"), grace=900)
    clock.set(NOW + timedelta(minutes=45))
    daemon.run_pass()
    fires = ledger(ws)
    assert [(f.status, f.nominal.minute, f.missed_count) for f in fires] == [
        ("missed", 30, 3),
        ("started", 40, None),
    ]
    assert fires[0].missed_from == NOW + timedelta(minutes=10)
    assert fires[0].detail == (
        "coalesced into the fire of 2026-11-29T08:40:00.000Z (at most one late start after an outage)"
    )
    assert starter.runs() == ["run-0000"]


def test_an_every_minute_schedule_down_for_30_minutes_starts_one_drill_on_return(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("every", "60"))
    clock.set(NOW + timedelta(minutes=30, seconds=1))
    daemon.run_pass()
    daemon.run_pass()
    assert starter.runs() == ["run-0000"]
    missed, started = ledger(ws)
    assert (missed.status, missed.missed_count, missed.missed_from) == ("missed", 29, NOW + timedelta(minutes=1))
    assert (started.status, started.nominal) == ("started", NOW + timedelta(minutes=30))
    [logged] = [e for e in log_events(ws) if e["event"] == "fire.missed"]
    assert (logged["count"], logged["detail"].split()[0]) == (29, "coalesced")
    clock.set(NOW + timedelta(minutes=31, seconds=1))
    daemon.run_pass()
    assert starter.runs() == ["run-0000", "run-0001"]  # back on time: one fire, one drill


def test_when_the_latest_fire_after_an_outage_is_blacked_out_no_drill_starts(
    ws: Workspace, clock: VirtualClock, starter: FileStarter
) -> None:
    (ws.root / "drill.toml").write_text('[schedule]\nblackout = [{from = "08:25", to = "08:35"}]\n')
    add(ws, ("every", "60"))
    with daemon_on(ws, clock, starter) as returning:
        clock.set(NOW + timedelta(minutes=30, seconds=1))
        returning.run_pass()
    assert [(f.status, f.nominal.minute, f.missed_count) for f in ledger(ws)] == [
        ("missed", 29, 29),
        ("blackout", 30, None),
    ]
    assert starter.runs() == []


def test_a_fire_while_the_schedules_previous_drill_runs_is_skipped_as_overlap(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "*/10 * * * *"))
    add(ws, ("cron", "*/10 * * * *"), schedule_id="other")
    starter.keep_running = True
    for minutes in (10, 20):
        clock.set(NOW + timedelta(minutes=minutes, seconds=1))
        daemon.run_pass()
    first = {f.schedule: f.run or "" for f in ledger(ws) if f.status == "started"}
    starter.end(first["s"])
    clock.set(NOW + timedelta(minutes=30, seconds=1))
    daemon.run_pass()
    mine = [(f.nominal.minute, f.status) for f in ledger(ws) if f.schedule == "s"]
    assert mine == [(10, "started"), (20, "skipped"), (30, "started")]
    [skipped] = [f for f in ledger(ws) if f.status == "skipped" and f.schedule == "s"]
    assert (skipped.run, skipped.detail) == (None, f"overlap: the schedule's drill {first['s']} is still running")
    assert [f.status for f in ledger(ws) if f.schedule == "other"] == ["started", "skipped", "skipped"]
    assert len(starter.runs()) == 3
    overlaps = sorted((e["schedule"], e["run"]) for e in log_events(ws) if e["event"] == "fire.skipped")
    assert overlaps == [("other", first["other"]), ("other", first["other"]), ("s", first["s"])]


def test_a_ten_year_outage_of_an_every_minute_schedule_is_one_bounded_row(
    ws: Workspace, clock: VirtualClock, daemon: Daemon
) -> None:
    add(ws, ("cron", "* * * * *"), grace=10)
    clock.set(NOW + timedelta(days=3652, seconds=30))
    began = time.monotonic()
    daemon.run_pass()
    assert time.monotonic() - began < 5
    [missed] = ledger(ws)
    assert (missed.status, missed.missed_count, missed.missed_from) == ("missed", 1000, NOW + timedelta(minutes=1))


def test_a_fire_inside_a_blackout_window_is_skipped_and_recorded(
    ws: Workspace, clock: VirtualClock, starter: FileStarter
) -> None:
    (ws.root / "drill.toml").write_text(
        '[schedule]\nblackout = [{start = "2026-11-29T16:00", end = "2026-11-30T00:00", tz = "Asia/Shanghai"}]\n'
    )
    add(ws, ("cron", "0 9 * * *"))
    with daemon_on(ws, clock, starter) as blackout_daemon:
        clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
        blackout_daemon.run_pass()
        clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC))
        blackout_daemon.run_pass()
    assert [(f.nominal.day, f.status) for f in ledger(ws)] == [(29, "blackout"), (30, "started")]
    assert starter.runs() == ["run-0000"]
    assert [e["event"] for e in log_events(ws)].count("fire.blackout") == 1


def test_a_blackout_added_to_drill_toml_while_the_daemon_runs_counts_from_the_next_pass(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    (ws.root / "drill.toml").write_text('[schedule]\nblackout = [{from = "08:30", to = "09:30"}]\n')
    clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
    daemon.run_pass()
    assert [(f.nominal.day, f.status) for f in ledger(ws)] == [(29, "blackout")]
    assert starter.runs() == []
    loaded = [e for e in log_events(ws) if e["event"] == "blackouts.loaded"]
    assert [e["windows"] for e in loaded] == [["mon,tue,wed,thu,fri,sat,sun 08:30-09:30 UTC"]]


def test_a_bad_drill_toml_while_the_daemon_runs_is_logged_once_and_the_last_good_windows_stay(
    ws: Workspace, clock: VirtualClock, starter: FileStarter
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    toml = ws.root / "drill.toml"
    toml.write_text('[schedule]\nblackout = [{from = "08:30", to = "09:30"}]\n')
    with daemon_on(ws, clock, starter) as running:
        toml.write_text('[schedule]\nblackout = [{from = "25:00", to = "26:00"}]\n')
        clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
        running.run_pass()
        toml.write_text("[schedule\n")  # not TOML at all
        running.run_pass()
        running.run_pass()
        clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC))
        running.run_pass()
        toml.write_text("")  # good again, and without windows
        clock.set(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
        running.run_pass()
    assert [(f.nominal.day, f.status) for f in ledger(ws)] == [(29, "blackout"), (30, "blackout"), (1, "started")]
    errors = [e for e in log_events(ws) if e["event"] == "config.error"]
    assert [e["level"] for e in errors] == ["error", "error"]  # one per distinct error, not one per pass
    assert "blackout window 1: '25:00' is not a time of day" in errors[0]["error"]
    assert errors[1]["error"].startswith("drill.toml: ")


def test_a_paused_schedule_does_not_fire_and_owes_nothing_when_resumed(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    store = open_store(ws)
    store.set_paused("s", True, NOW)
    clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
    daemon.run_pass()
    assert ledger(ws) == []
    store.set_paused("s", False, clock.now())
    store.close()
    daemon.run_pass()
    clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC))
    daemon.run_pass()
    assert [(f.nominal.day, f.status) for f in ledger(ws)] == [(30, "started")]


def test_jitter_picks_a_start_once_within_the_window_and_waits_for_it(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"), jitter=1800)
    clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
    daemon.run_pass()
    [claimed] = ledger(ws)
    nominal = datetime(2026, 11, 29, 9, tzinfo=UTC)
    assert claimed.status == "claimed"
    assert nominal <= claimed.start_at <= nominal + timedelta(seconds=1800)
    assert starter.runs() == []
    clock.set(claimed.start_at)
    daemon.run_pass()
    [started] = ledger(ws)
    assert (started.status, started.start_at, started.run) == ("started", claimed.start_at, "run-0000")


def test_a_drill_started_just_before_a_crash_is_linked_not_started_again(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    nominal = datetime(2026, 11, 29, 9, tzinfo=UTC)
    clock.set(nominal)
    store = open_store(ws)
    claim = Fire(schedule="s", nominal=nominal, status="claimed", start_at=nominal, decided_at=nominal)
    store.decide([claim], "s", nominal)
    store.close()
    orphan = starter.start(SCENARIO)  # the previous scheduler got this far, then died
    clock.set(nominal + timedelta(seconds=20))
    daemon.run_pass()
    assert starter.runs() == [orphan]
    [fire] = ledger(ws)
    assert (fire.status, fire.run) == ("started", orphan)
    assert "fire.recovered" in [e["event"] for e in log_events(ws)]


def test_a_claim_left_by_a_crash_before_starting_is_started_late(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, daemon: Daemon
) -> None:
    add(ws, ("cron", "0 9 * * *"))
    nominal = datetime(2026, 11, 29, 9, tzinfo=UTC)
    store = open_store(ws)
    store.decide(
        [Fire(schedule="s", nominal=nominal, status="claimed", start_at=nominal, decided_at=nominal)], "s", nominal
    )
    store.close()
    clock.set(nominal + timedelta(minutes=5))
    daemon.run_pass()
    [fire] = ledger(ws)
    assert (fire.status, fire.run) == ("started", "run-0000")


def test_a_drill_that_cannot_start_is_recorded_failed(ws: Workspace, clock: VirtualClock, starter: FileStarter) -> None:
    add(ws, ("cron", "0 9 * * *"))
    starter.refuse = True
    with daemon_on(ws, clock, starter) as refusing:
        clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
        refusing.run_pass()
    [fire] = ledger(ws)
    assert fire.status == "failed"
    assert fire.detail is not None
    assert "no scenario" in fire.detail
    assert [e["level"] for e in log_events(ws) if e["event"] == "fire.failed"] == ["error"]


def test_open_runs_are_adopted_once_and_conducted_every_pass(
    ws: Workspace, clock: VirtualClock, starter: FileStarter
) -> None:
    conductor = CountingConductor(open=["r1", "r2"])
    with daemon_on(ws, clock, starter, conductor) as conducting:
        assert conducting.run_pass() == 0.5
        conducting.run_pass()
    assert conductor.adopted == ["r1", "r2"]
    assert conductor.ticks == 2


def test_overdue_actions_that_cannot_be_read_are_logged_and_the_runs_still_conducted(
    ws: Workspace, clock: VirtualClock, starter: FileStarter, tmp_path: Path
) -> None:
    command_notifier(ws.root, tmp_path, ["action.overdue"])
    (ws.logs / "actions.jsonl").mkdir(parents=True)  # a ledger no one can read
    conductor = CountingConductor(open=["r1"])
    with scheduler_log(ws, clock) as log:
        daemon = Daemon(
            ws=ws, clock=clock, starter=starter, conducting=conductor, log=log, rng=random.Random(7),
            overdue=lambda: notify_overdue(ws, clock, ws.notifiers()),
        )  # fmt: skip
        try:
            assert daemon.run_pass() == 0.5
        finally:
            daemon.close()
    assert (conductor.adopted, conductor.ticks) == (["r1"], 1)
    [error] = [e for e in log_events(ws) if e["event"] == "error"]
    assert error["detail"] == "overdue corrective actions"
    assert "actions.jsonl" in error["error"]


@pytest.mark.slow
def test_a_schedule_added_while_the_daemon_serves_fires_on_time(ws: Workspace) -> None:
    wall = SystemClock()
    starter = FileStarter(ws.root / "started", wall)
    with daemon_on(ws, wall, starter) as serving:
        due = _serve_and_add(ws, serving, starter, wall)
    [fire] = ledger(ws)
    assert fire.status == "started"
    assert fire.started_at is not None
    assert timedelta(0) <= fire.started_at - due < timedelta(seconds=1)
    assert [e["event"] for e in log_events(ws)][-1] == "scheduler.stopped"


def _serve_and_add(ws: Workspace, serving: Daemon, starter: FileStarter, wall: SystemClock) -> datetime:
    """Serve in a thread, add a schedule due 2 s later, wait for its drill, stop; the due time."""
    thread = threading.Thread(target=run, args=(serving,), kwargs={"once": False})
    thread.start()
    try:
        time.sleep(0.5)
        due = (wall.now() + timedelta(seconds=2)).replace(microsecond=0)
        add_schedule(ws, wall, scenario=SCENARIO, when=("at", due.isoformat()), tz="UTC", schedule_id="x")
        deadline = time.monotonic() + 5
        while not starter.runs() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        serving.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    return due


def test_a_schedule_that_cannot_be_read_is_logged_once_and_the_others_still_fire(
    ws: Workspace, clock: VirtualClock, starter: FileStarter
) -> None:
    for schedule_id in ("a-broken", "m-good", "z-broken"):  # the broken ones sort before and after
        add(ws, ("cron", "0 9 * * *"), schedule_id=schedule_id)
    edit_schedule_row(ws.root, "a-broken", "tz", "Mars/Base")
    edit_schedule_row(ws.root, "z-broken", "expr", "0 9 * *")
    with daemon_on(ws, clock, starter) as running:
        clock.set(datetime(2026, 11, 29, 9, 0, 1, tzinfo=UTC))
        running.run_pass()
        running.run_pass()
        clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC))
        running.run_pass()
        edit_schedule_row(ws.root, "z-broken", "expr", "0 9 * * *  x")  # broken another way: said again
        running.run_pass()
        tally = running.tally
    assert [(f.schedule, f.nominal.day, f.status) for f in ledger(ws)] == [
        ("m-good", 29, "started"),
        ("m-good", 30, "started"),
    ]
    assert starter.runs() == ["run-0000", "run-0001"]
    unreadable = [e for e in log_events(ws) if e["event"] == "schedule.unreadable"]
    assert [(e["level"], e["schedule"]) for e in unreadable] == [
        ("error", "a-broken"),
        ("error", "z-broken"),
        ("error", "z-broken"),
    ]
    assert unreadable[0]["error"].startswith("unknown time zone 'Mars/Base'")
    assert unreadable[1]["error"].startswith("cron expression '0 9 * *' needs five fields")
    assert unreadable[0]["detail"] == "left aside, not fired; `drill schedule remove a-broken` deletes it"
    assert tally["set aside (schedule unreadable)"] == 3


@pytest.mark.slow
def test_a_serving_daemon_loads_the_schedules_it_can_read_and_fires_them(ws: Workspace) -> None:
    add(ws, ("cron", "0 9 * * *"), schedule_id="broken")
    edit_schedule_row(ws.root, "broken", "expr", "9999-12-31T23:30")  # an --at an earlier version let through
    edit_schedule_row(ws.root, "broken", "kind", "at")
    wall = SystemClock()
    starter = FileStarter(ws.root / "started", wall)
    with daemon_on(ws, wall, starter) as serving:
        _serve_and_add(ws, serving, starter, wall)
    assert [(f.schedule, f.status) for f in ledger(ws)] == [("x", "started")]
    events = [e["event"] for e in log_events(ws)]
    assert events.count("schedule.unreadable") == 1
    assert "error" not in events
