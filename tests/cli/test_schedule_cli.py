"""`drill schedule …` and `drill scheduler` as users run them: real processes, real drills."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from drillkit.config.workspace import Workspace
from drillkit.model.clock import format_utc, parse_utc
from drillkit.schedule.port import DAMAGED, Fire
from drillkit.schedule.store import open_store
from tests.conftest import DRILL, FAKE_NOW, Drill, read_events

SCENARIO = "core-outage-q4"


def ledger(root: Path) -> list[Fire]:
    with open_store(Workspace(root)) as store:
        return store.fires()


def log_events(root: Path) -> list[dict[str, Any]]:
    path = root / "logs" / "scheduler.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def drill_runs(root: Path) -> list[str]:
    """Runs whose first event was written whole."""
    runs = root / "logs" / "runs"
    return sorted(p.stem for p in runs.glob("*.jsonl") if p.read_bytes().split(b"\n", 1)[0].endswith(b"}"))


@contextmanager
def daemon(drill: Drill) -> Iterator[subprocess.Popen[str]]:
    """A real `drill scheduler`, waited for until it logs its start, stopped with SIGTERM after."""
    process = subprocess.Popen(
        [str(DRILL), "scheduler"], env=drill.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while not any(e["event"] == "scheduler.started" for e in log_events(drill.root)):
            assert process.poll() is None, "scheduler exited early"
            assert time.monotonic() < deadline, "scheduler did not start"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def test_add_list_pause_resume_remove(drill: Drill) -> None:
    drill = drill.pinned()  # the expected fires are counted from FAKE_NOW
    added = drill("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "Asia/Shanghai", ok=True)
    assert added.stdout == f"{SCENARIO}\n"
    drill("schedule", "add", SCENARIO, "--every", "30d", "--id", "monthly", ok=True)
    listed = json.loads(drill("--tz", "Europe/Berlin", "schedule", "list", "--json", ok=True).stdout)
    assert [r["id"] for r in listed] == [SCENARIO, "monthly"]
    weekly = listed[0]
    assert weekly["next_fire"] == "2026-11-30T01:00:00.000Z"
    assert weekly["next_fire_local"] == "2026-11-30 02:00:00 CET"
    assert listed[1]["expr"] == "30d"
    drill("schedule", "pause", "monthly", ok=True)
    text = drill("schedule", "list", ok=True).stdout
    assert "paused" in text
    assert "2026-11-30 01:00:00 UTC" in text
    drill("schedule", "resume", "monthly", ok=True)
    drill("schedule", "remove", SCENARIO, ok=True)
    assert [r["id"] for r in json.loads(drill("schedule", "list", "--json", ok=True).stdout)] == ["monthly"]


def test_add_shows_the_next_five_fires_in_the_display_zone(drill: Drill) -> None:
    drill = drill.pinned()  # Sunday 2026-11-29 08:00 UTC
    added = drill("--tz", "Asia/Shanghai", "schedule", "add", SCENARIO, "--cron", "0 9 * * mon", ok=True)
    assert added.stdout == f"{SCENARIO}\n"
    assert added.stderr.splitlines() == [
        f"scheduled {SCENARIO}; next drills:",
        *[f"  2026-{day} 09:00:00 CST" for day in ("11-30", "12-07", "12-14", "12-21", "12-28")],
    ]
    once = drill("schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--tz", "UTC", "--id", "once", ok=True)
    assert once.stderr.splitlines() == [f"scheduled {SCENARIO}; next drills:", "  2027-01-01 09:00:00 UTC"]


def test_list_next_shows_that_many_fires_of_each_schedule(drill: Drill) -> None:
    drill = drill.pinned()
    drill("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "UTC", ok=True)
    drill("schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--tz", "UTC", "--id", "once", ok=True)
    listed = json.loads(drill("schedule", "list", "--next", "3", "--json", ok=True).stdout)
    assert [r["next_fires"] for r in listed] == [
        ["2026-11-30T09:00:00.000Z", "2026-12-07T09:00:00.000Z", "2026-12-14T09:00:00.000Z"],
        ["2027-01-01T09:00:00.000Z"],
    ]
    assert listed[0]["next_fires_local"][1] == "2026-12-07 09:00:00 UTC"
    lines = drill("schedule", "list", "--next", "3", ok=True).stdout.splitlines()
    assert [line.split()[0] for line in lines[2:]] == [SCENARIO, "2026-12-07", "2026-12-14", "once"]
    assert len(drill("schedule", "list", ok=True).stdout.splitlines()) == 4  # one line a schedule by default
    refused = drill("schedule", "list", "--next", "0")
    assert refused.returncode == 2
    assert "--next" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "add", SCENARIO], "exactly one of"),
        (["schedule", "add", SCENARIO, "--cron", "61 * * * *"], "out of range"),
        (["schedule", "add", SCENARIO, "--cron", "0 9 * * 7-1"], "field '7-1': the range '7-1' runs backwards"),
        (["schedule", "add", SCENARIO, "--cron", "*/0 9 * * *"], "field '*/0': the step in '*/0' must be 1 or more"),
        (["schedule", "add", SCENARIO, "--every", "90"], "no unit"),
        (["schedule", "add", SCENARIO, "--every", "0s"], "--every: duration '0s' is zero: give one longer than 0s"),
        (["schedule", "add", SCENARIO, "--every", "30d", "--grace", "0m"], "--grace: duration '0m' is zero"),
        (["schedule", "add", "nope", "--at", "2027-01-01T09:00"], "no scenario"),
        (["schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--tz", "Mars/Base"], "unknown time zone"),
        (["schedule", "add", SCENARIO, "--at", "2020-01-01T09:00"], "never fires after now"),
        (["schedule", "add", SCENARIO, "--at", "9999-12-31T23:59", "--tz", "Etc/GMT+12"], "from 1970-01-01 to 9998"),
        (["schedule", "add", SCENARIO, "--at", "9999-12-31T23:59"], "out of range"),  # past the last time in UTC+14
        (["schedule", "add", SCENARIO, "--every", "30d", "--jitter", "soon"], "--jitter"),
        (["schedule", "add", SCENARIO, "--every", "999999999d"], "'999999999d' is too long: at most 3650d"),
        (["schedule", "add", SCENARIO, "--every", "99999999999999999d"], "is too long: at most 3650d"),
        (["schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--jitter", "9" * 21 + "d"], "at most 1d"),
        (["schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--jitter", "1d1s"], "'1d1s' is too long"),
        (["schedule", "add", SCENARIO, "--every", "1h", "--jitter", "1h"], "shorter than the --every interval of 1h"),
        (["schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--grace", "9" * 23 + "d"], "at most 7d"),
        (["schedule", "add", SCENARIO, "--at", "2027-01-01T09:00", "--grace", "8d"], "'8d' is too long: at most 7d"),
        (["schedule", "add", SCENARIO, "--every", "30d", "--id", "Not_An_Id"], "must be lowercase"),
        (["schedule", "pause", "nope"], "no schedule 'nope'"),
        (["schedule", "remove", "nope"], "no schedule 'nope'"),
        (["schedule", "resume", "nope"], "no schedule 'nope'"),
    ],
)
def test_bad_schedule_commands_exit_2_with_one_line(drill: Drill, args: list[str], message: str) -> None:
    done = drill(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert done.stdout == ""
    assert not (drill.root / "logs" / "schedule.db").exists()  # a refused command creates nothing


def test_a_schedule_that_can_never_fire_is_refused_in_one_line_and_nothing_is_written(drill: Drill) -> None:
    drill = drill.pinned()
    (drill.root / "drill.toml").write_text(
        '[schedule]\nblackout = [{days = ["sat", "sun"], from = "00:00", to = "24:00"}]\n'
    )
    for when in (["--cron", "0 10 * * sat"], ["--at", "2026-12-05T10:00"], ["--cron", "0 0 30 2 *"]):
        done = drill("schedule", "add", SCENARIO, *when, "--tz", "UTC")
        assert (done.returncode, done.stdout, len(done.stderr.splitlines())) == (2, "", 1), when
        assert "never fires" in done.stderr, when
        assert not (drill.root / "logs" / "schedule.db").exists()
    blacked_out = drill("schedule", "add", SCENARIO, "--cron", "0 10 * * sat,sun", "--tz", "UTC").stderr
    assert blacked_out == (
        "drill: schedule cron '0 10 * * sat,sun' never fires: every fire is inside a blackout window"
        " of drill.toml ([schedule] blackout); nothing to schedule\n"
    )


def test_cron_takes_nth_and_last_weekdays_and_last_days_and_searches_past_nine_years(drill: Drill) -> None:
    drill = drill.pinned()  # Sunday 2026-11-29 08:00 UTC
    cases = {
        "0 9 * * fri#2": ["2026-12-11", "2027-01-08", "2027-02-12", "2027-03-12", "2027-04-09"],
        "0 9 * * 5L": ["2026-12-25", "2027-01-29", "2027-02-26", "2027-03-26", "2027-04-30"],
        "0 9 L * *": ["2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28", "2027-03-31"],
        "0 9 LW * *": ["2026-11-30", "2026-12-31", "2027-01-29", "2027-02-26", "2027-03-31"],
        "0 9 1-7 * wed": ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"],
        "0 0 29 2 */7": ["2032-02-29", "2060-02-29", "2088-02-29", "2128-02-29", "2156-02-29"],
    }
    for number, (expr, days) in enumerate(cases.items()):
        added = drill("schedule", "add", SCENARIO, "--cron", expr, "--tz", "UTC", "--id", f"c{number}", ok=True)
        assert [line.split()[0] for line in added.stderr.splitlines()[1:]] == days, expr
    wednesdays = json.loads(drill("schedule", "list", "--next", "12", "--json", ok=True).stdout)[4]["next_fires"]
    assert [w[:10] for w in wednesdays[7:]] == ["2026-12-09", "2026-12-16", "2026-12-23", "2026-12-30", "2027-01-01"]
    assert "EITHER" in drill("schedule", "add", "--help", ok=True).stdout


def test_ics_export_has_one_event_per_upcoming_fire_in_its_zone(drill: Drill, tmp_path: Path) -> None:
    drill = drill.pinned()  # the expected fires are counted from FAKE_NOW
    drill("schedule", "add", SCENARIO, "--cron", "30 2 * * *", "--tz", "America/New_York", ok=True)
    drill("schedule", "add", SCENARIO, "--at", "2027-03-01T10:00", "--tz", "Asia/Shanghai", "--id", "q1", ok=True)
    out = tmp_path / "drills.ics"
    drill("schedule", "export", "--format", "ics", "-o", str(out), ok=True)
    calendar = Calendar.from_ical(out.read_bytes())
    events = list(calendar.walk("VEVENT"))
    daily = of_schedule(events, SCENARIO)
    assert len(daily) == 366
    assert len(events) == 367
    starts = [e.decoded("DTSTART") for e in daily]
    assert all(str(s.tzinfo) == "America/New_York" for s in starts)
    assert {(s.hour, s.minute) for s in starts} == {(2, 30), (3, 0)}  # 03:00 on the spring-forward day
    [q1] = of_schedule(events, "q1")
    assert q1.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    assert str(q1["SUMMARY"]).startswith("[DRILL / 演练]")
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {"America/New_York", "Asia/Shanghai"}


def of_schedule(events: list[Any], schedule_id: str) -> list[Any]:
    """The calendar's events of one schedule, which each event's description names."""
    return [e for e in events if f"schedule {schedule_id} (" in str(e["DESCRIPTION"])]


def exported_calendar(drill: Drill, *options: str) -> Calendar:
    """`drill [OPTIONS] schedule export --format ics`, read and validated by a real iCalendar parser."""
    out = drill.root.parent / "drills.ics"
    drill(*options, "schedule", "export", "--format", "ics", "-o", str(out), "--force", ok=True)
    calendar = Calendar.from_ical(out.read_bytes())
    calendar.validate()  # type: ignore[no-untyped-call]  # icalendar leaves it unannotated; raises if invalid
    return calendar


def test_an_ics_export_with_no_upcoming_drill_is_a_valid_calendar(drill: Drill) -> None:
    """RFC 5545 §3.6: a calendar holds at least one component; with no drill to show it holds the
    display zone's VTIMEZONE, which readers accept and show nothing for."""
    empty = exported_calendar(drill, "--tz", "Asia/Shanghai")  # validated: PRODID, VERSION, a component
    [zone] = empty.walk("VTIMEZONE")
    assert (str(zone["TZID"]), empty.walk("VEVENT")) == ("Asia/Shanghai", [])
    drill("schedule", "add", SCENARIO, "--every", "7d", ok=True)
    drill("schedule", "pause", SCENARIO, ok=True)
    paused = exported_calendar(drill, "--tz", "UTC")
    assert [str(z["TZID"]) for z in paused.walk("VTIMEZONE")] == ["UTC"]
    assert paused.walk("VEVENT") == []


def test_ics_uids_stay_the_same_across_exports_and_differ_between_workspaces(drill: Drill, tmp_path: Path) -> None:
    other = Drill(tmp_path / "other")
    subprocess.run([str(DRILL), "init", str(other.root)], capture_output=True, check=True, timeout=60)
    for ws in (drill, other):  # the same schedule, added in two workspaces
        ws("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "UTC", ok=True)

    def uids(ws: Drill, now: str) -> dict[datetime, str]:
        events = exported_calendar(ws.pinned(now)).walk("VEVENT")
        return {e.decoded("DTSTART"): str(e["UID"]) for e in events}

    first, week_later = uids(drill, "2030-01-07T00:00:00Z"), uids(drill, "2030-01-14T00:00:00Z")
    assert len(set(first.values())) == len(first) == 53  # one UID per fire
    shared = first.keys() & week_later.keys()
    assert len(shared) == 52
    assert {first[start] for start in shared} == {week_later[start] for start in shared}  # stable
    elsewhere = uids(other, "2030-01-07T00:00:00Z")
    assert elsewhere.keys() == first.keys()
    assert not set(elsewhere.values()) & set(first.values())  # one reader can hold both calendars


def test_list_and_export_show_only_fires_that_no_blackout_window_skips(drill: Drill, tmp_path: Path) -> None:
    drill = drill.pinned()  # the expected fires are counted from FAKE_NOW
    drill("schedule", "add", SCENARIO, "--cron", "0 10 * * sat", "--tz", "Asia/Shanghai", "--id", "weekend", ok=True)
    (drill.root / "drill.toml").write_text(
        'timezone = "Asia/Shanghai"\n[schedule]\nblackout = [\n'
        '  {start = "2026-11-30T00:00", end = "2026-12-02T00:00"},\n'
        '  {days = ["sat", "sun"], from = "00:00", to = "24:00"},\n]\n'
    )
    drill("schedule", "add", SCENARIO, "--cron", "0 9 * * *", "--tz", "Asia/Shanghai", ok=True)
    daily, weekend = sorted(json.loads(drill("schedule", "list", "--json", ok=True).stdout), key=lambda r: r["id"])
    assert daily["next_fire"] == "2026-12-02T01:00:00.000Z"  # 30 Nov and 1 Dec are blacked out
    assert daily["next_fire_local"] == "2026-12-02 09:00:00 CST"
    assert (weekend["id"], weekend["next_fire"], weekend["next_fire_local"]) == ("weekend", None, None)
    assert "weekend" in drill("schedule", "list", ok=True).stdout
    out = tmp_path / "drills.ics"
    drill("schedule", "export", "--format", "ics", "-o", str(out), ok=True)
    starts = [e.decoded("DTSTART") for e in Calendar.from_ical(out.read_bytes()).walk("VEVENT")]
    assert starts[0].astimezone(UTC) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert len(starts) == 366 - 2 - 2 * 52  # a year of days, less the dated window and the weekends
    assert all(s.weekday() < 5 for s in starts)
    (drill.root / "drill.toml").write_text("[schedule]\nblackout = 'x'\n")
    broken = drill("schedule", "list")
    assert (broken.returncode, broken.stdout) == (2, "")


@pytest.mark.slow
def test_a_schedule_added_while_the_daemon_runs_starts_one_drill_on_time(drill: Drill) -> None:
    with daemon(drill) as process:
        due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
        drill("schedule", "add", SCENARIO, "--at", due.isoformat(), "--tz", "UTC", "--id", "soon", ok=True)
        deadline = time.monotonic() + 12
        while not drill_runs(drill.root) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        assert process.poll() is None
    assert process.returncode == 0
    [run] = drill_runs(drill.root)
    started = parse_utc(read_events(drill.root / "logs" / "runs" / f"{run}.jsonl")[0]["ts"])
    assert timedelta(0) <= started - due < timedelta(seconds=1)
    [fire] = ledger(drill.root)
    assert (fire.status, fire.run, fire.nominal) == ("started", run, due)
    events = log_events(drill.root)
    assert [e["run"] for e in events if e["event"] == "fire.started"] == [run]
    assert events[-1]["event"] == "scheduler.stopped"


@pytest.mark.slow
def test_the_scheduler_conducts_detached_drills_on_time_and_leaves_ended_runs_alone(drill: Drill) -> None:
    """A drill detached before the daemon starts and one detached while it serves both get their
    10-minute inject (10 s at speed 60) recorded within 1 s of its due time; an ended run is not
    written to."""
    ended = drill.open()
    drill("abort", ended, "--by", "alice", "--reason", "opened by mistake", ok=True)
    ended_bytes = drill.record(ended).read_bytes()
    before = drill("start", SCENARIO, "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
    with daemon(drill):
        during = drill("start", SCENARIO, "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
        deadline = time.monotonic() + 20
        while not all(_delivered(drill, run, "complaints") for run in (before, during)):
            assert time.monotonic() < deadline, "the 10-minute inject was not delivered"
            time.sleep(0.1)
    for run in (before, during):
        started = parse_utc(drill.events(run)[0]["ts"])
        delivered = _delivered(drill, run, "complaints")
        assert delivered is not None
        assert timedelta(0) <= parse_utc(delivered["ts"]) - (started + timedelta(seconds=10)) < timedelta(seconds=1)
    assert drill.record(ended).read_bytes() == ended_bytes


@pytest.mark.slow
def test_a_scheduler_stops_on_sigterm_while_someone_holds_a_record_lock(drill: Drill) -> None:
    """A `drill act` stopped (Ctrl-Z) while it holds a run's record lock does not keep the scheduler
    from stopping: it waits a few seconds for that append, then exits 0; the next command that
    touches the run records what came due."""
    import fcntl

    run = drill("start", SCENARIO, "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
    with drill.record(run).open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with daemon(drill) as process:
            time.sleep(1.0)  # the alarm inject is due at once: its append waits on the lock
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=15)
        assert process.returncode == 0
        assert time.monotonic() - began < 10
    assert log_events(drill.root)[-1]["event"] == "scheduler.stopped"
    drill("status", run, ok=True)
    assert _delivered(drill, run, "alarm") is not None


def _delivered(drill: Drill, run: str, inject: str) -> dict[str, Any] | None:
    found = [e for e in drill.events(run) if e["event"] == "inject.delivered" and e.get("inject") == inject]
    return found[0] if found else None


@pytest.mark.slow
def test_two_schedulers_at_once_one_runs_the_other_exits_3(drill: Drill) -> None:
    both = [
        subprocess.Popen([str(DRILL), "scheduler"], env=drill.env(), stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    deadline = time.monotonic() + 15
    while all(p.poll() is None for p in both) and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = [p for p in both if p.poll() is not None]
    running = [p for p in both if p.poll() is None]
    assert [p.returncode for p in refused] == [3]
    assert len(running) == 1
    assert "another scheduler" in refused[0].communicate()[1]
    running[0].send_signal(signal.SIGTERM)
    running[0].communicate(timeout=15)
    assert running[0].returncode == 0


def _fake(minutes: float) -> str:
    return format_utc(parse_utc(FAKE_NOW) + timedelta(minutes=minutes))


def _accounted(fires: list[Fire], schedule: str) -> list[int]:
    """Minutes after FAKE_NOW of every fire the ledger accounts for, a missed row counting for its range."""
    base = parse_utc(FAKE_NOW)
    minutes: list[int] = []
    for fire in (f for f in fires if f.schedule == schedule):
        first = fire.missed_from or fire.nominal
        minutes += range(
            int((first - base).total_seconds() // 60), int((fire.nominal - base).total_seconds() // 60) + 1
        )
    return sorted(minutes)


@pytest.mark.slow
def test_kill_9_around_fire_times_never_doubles_or_drops_a_fire(drill: Drill) -> None:
    drill(
        "schedule", "add", SCENARIO, "--cron", "* * * * *", "--tz", "UTC", "--id", "minutely", DRILL_FAKE_NOW=FAKE_NOW
    )
    drill(
        "schedule",
        "add",
        "dns-outage-drill",
        "--every",
        "1m",
        "--jitter",
        "30s",
        "--id",
        "jittery",
        DRILL_FAKE_NOW=FAKE_NOW,
    )
    chance = random.Random(6)
    for cycle in range(1, 51):
        process = subprocess.Popen(
            [str(DRILL), "scheduler", "--once"],
            env=drill.env(DRILL_FAKE_NOW=_fake(cycle + 0.01)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=chance.uniform(0.15, 0.6))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(51.01))
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(51.75))
    fires = ledger(drill.root)
    assert {f.status for f in fires} <= {"started", "missed", "skipped"}  # skipped: the last drill still runs
    started = [f.run for f in fires if f.status == "started"]
    assert len(started) == len(set(started))
    assert sorted(r for r in started if r) == drill_runs(drill.root)
    for schedule in ("minutely", "jittery"):
        assert _accounted(fires, schedule) == list(range(1, 52)), schedule


def test_a_30_minute_outage_of_an_every_minute_schedule_starts_one_drill_and_history_says_why(drill: Drill) -> None:
    drill("schedule", "add", SCENARIO, "--every", "1m", "--id", "minutely", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    done = drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(30.01))
    assert done.stderr.strip().endswith("scheduler: 1 claimed, 1 missed, 1 started")
    [run] = drill_runs(drill.root)
    missed, started = ledger(drill.root)
    assert (missed.status, missed.missed_count, started.status, started.run) == ("missed", 29, "started", run)
    history = json.loads(drill("schedule", "history", "minutely", "--json", ok=True).stdout)
    assert [(h["status"], h["missed_count"], h["run"]) for h in history] == [
        ("missed", 29, None),
        ("started", None, run),
    ]
    assert history[0]["detail"].startswith("coalesced")
    text = drill("schedule", "history", "minutely", ok=True).stdout
    assert "29 fires from 2026-11-29 08:01:00 UTC; coalesced" in text
    [logged] = [e for e in log_events(drill.root) if e["event"] == "fire.missed"]
    assert (logged["count"], logged["first"], logged["nominal"]) == (29, _fake(1), _fake(29))


def test_a_fire_while_the_schedules_drill_still_runs_is_skipped_as_overlap(drill: Drill) -> None:
    drill("schedule", "add", SCENARIO, "--every", "1m", "--id", "minutely", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(1.01))
    [first] = drill_runs(drill.root)
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(2.01))
    assert drill_runs(drill.root) == [first]  # the first drill still runs: no second one beside it
    drill("abort", first, "--by", "alice", "--reason", "done for today", ok=True, DRILL_FAKE_NOW=_fake(2.5))
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(3.01))
    assert len(drill_runs(drill.root)) == 2
    history = json.loads(drill("schedule", "history", "minutely", "--json", ok=True).stdout)
    assert [h["status"] for h in history] == ["started", "skipped", "started"]
    assert history[1]["detail"] == f"overlap: the schedule's drill {first} is still running"
    skipped = [e for e in log_events(drill.root) if e["event"] == "fire.skipped"]
    assert [(e["reason"], e["run"]) for e in skipped] == [("overlap", first)]
    assert drill("schedule", "history", "nope").returncode == 2


def test_a_drill_past_its_time_limit_while_no_scheduler_ran_does_not_skip_the_next_fire(drill: Drill) -> None:
    """The scheduler was down while the first drill's 2h time limit passed: that drill is over, not
    still running, and the next day's fire starts its drill instead of being skipped as an overlap."""
    drill("schedule", "add", SCENARIO, "--every", "1d", "--id", "daily", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(24 * 60 + 1))
    [first] = drill_runs(drill.root)
    drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=_fake(2 * 24 * 60 + 1))
    history = json.loads(drill("schedule", "history", "daily", "--json", ok=True).stdout)
    assert [h["status"] for h in history] == ["started", "started"]
    assert len(drill_runs(drill.root)) == 2
    ended = [e for e in read_events(drill.root / "logs" / "runs" / f"{first}.jsonl") if e["event"] == "run.ended"]
    assert [e["outcome"] for e in ended] == ["timed-out"]


def test_a_stop_while_the_scheduler_starts_up_is_a_clean_exit(drill: Drill) -> None:
    """SIGTERM right after the scheduler takes its lock (before it is serving) still ends it with exit 0."""
    lock = drill.root / "logs" / "scheduler.lock"
    for _ in range(5):
        lock.unlink(missing_ok=True)
        daemon = subprocess.Popen([str(DRILL), "scheduler"], env=drill.env(), stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip() == str(daemon.pid)):
            time.sleep(0.001)
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=15)
        assert daemon.returncode == 0


def test_a_schedule_store_that_cannot_be_opened_is_one_line_not_an_internal_error(drill: Drill) -> None:
    (drill.root / "logs" / "schedule.db").mkdir(parents=True)  # what a store sqlite cannot open looks like
    for args in (["schedule", "list"], ["playbooks"], ["coverage"]):
        done = drill(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith("drill: logs/schedule.db: "), (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1, (args, done.stderr)


def test_a_damaged_schedule_store_is_refused_before_the_scheduler_logs_anything(drill: Drill) -> None:
    (drill.root / "logs").mkdir(exist_ok=True)
    (drill.root / "logs" / "schedule.db").write_bytes(b"not a database, just some bytes\n" * 64)
    done = drill("scheduler", "--once")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "drill: logs/schedule.db: file is not a database; it is not a schedule store: restore it from a backup,"
        " or move it aside for a new, empty one"
    ]
    assert not (drill.root / "logs" / "scheduler.jsonl").exists()


@pytest.mark.parametrize(
    "toml",
    ['[schedule]\nblackout = [{from = "25:00", to = "26:00"}]\n', '[[notify]]\nname = "x"\nkind = "pager"\n'],
    ids=["blackout", "notifier"],
)
def test_a_scheduler_refused_for_its_settings_leaves_no_log(drill: Drill, toml: str) -> None:
    (drill.root / "drill.toml").write_text(toml, encoding="utf-8")
    done = drill("scheduler", "--once")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("drill: drill.toml")
    assert not (drill.root / "logs" / "scheduler.jsonl").exists()


@pytest.mark.parametrize("fmt", ["md", "csv"])
def test_year_zero_is_refused_like_any_year_out_of_range(drill: Drill, fmt: str, tmp_path: Path) -> None:
    plan = tmp_path / f"plan.{fmt}"
    done = drill("schedule", "export", "--format", fmt, "--year", "0", "-o", str(plan))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "drill: --year 0: give a year such as 2027\n")
    assert not plan.exists()


def _plan_times(drill: Drill, year: int, now: str) -> list[str]:
    """The 演练时间 cell of the year plan's one row, as its times."""
    table = drill("schedule", "export", "--format", "csv", "--year", str(year), ok=True, DRILL_FAKE_NOW=now).stdout
    [_header, row] = list(csv.reader(io.StringIO(table.removeprefix("\ufeff"))))
    return row[4].split("; ")


def test_the_year_plan_lists_no_drill_from_before_the_schedule_was_added(drill: Drill) -> None:
    now = "2026-11-18T12:00:00Z"  # a Wednesday: the Mondays of 2026 before it were never scheduled
    drill("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", ok=True, DRILL_FAKE_NOW=now)
    assert _plan_times(drill, 2026, now) == [f"2026-11-{day} 09:00 UTC" for day in (23, 30)] + [
        "2026-12-07 09:00 UTC",
        "2026-12-14 09:00 UTC",
        "2026-12-21 09:00 UTC",
        "2026-12-28 09:00 UTC",
    ]
    assert len(_plan_times(drill, 2027, now)) == 52


def test_a_year_plan_cut_short_says_so(drill: Drill) -> None:
    now = "2026-12-01T00:00:00Z"
    drill("schedule", "add", SCENARIO, "--cron", "0 * * * *", ok=True, DRILL_FAKE_NOW=now)
    times = _plan_times(drill, 2027, now)
    assert times[0] == "2027-01-01 00:00 UTC"
    assert times[-2:] == [
        "2027-01-17 15:00 UTC",
        "… 仅列出前 400 次 / only the first 400 drills of the year are listed",
    ]


LOOKUPS = [
    ["schedule", "list"],
    ["schedule", "list", "--json", "--next", "3"],
    ["schedule", "history", SCENARIO],
    ["schedule", "history", "nope"],
    ["schedule", "export", "--format", "ics"],
    ["schedule", "export", "--format", "md", "--year", "2027"],
    ["schedule", "export", "--format", "csv", "--year", "2027"],
    ["playbooks", "--json"],
]


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root`: its path → (size, mtime in ns)."""
    return {str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns) for path in root.rglob("*")}


def looked_up(run: Any) -> list[tuple[int, str, str]]:
    """Each lookup's exit code, stdout and stderr, run by `run(*args)`."""
    return [(done.returncode, done.stdout, done.stderr) for done in (run(*args) for args in LOOKUPS)]


def scheduled_and_stopped(drill: Drill) -> Drill:
    """A workspace with a schedule whose store no writer holds: the daemon has run once and exited."""
    drill = drill.pinned()
    drill("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "UTC", ok=True)
    drill("scheduler", "--once", ok=True)
    return drill


def test_schedule_lookups_write_nothing_to_the_workspace(drill: Drill) -> None:
    drill = scheduled_and_stopped(drill)
    before = files_under(drill.root)
    looks = looked_up(drill)
    assert files_under(drill.root) == before  # no schedule.db-wal or -shm, nothing touched
    assert [code for code, _out, _err in looks] == [0, 0, 0, 2, 0, 0, 0, 0]
    assert json.loads(looks[1][1])[0]["next_fires"][0] == "2026-11-30T09:00:00.000Z"
    assert looks[3] == (2, "", f"drill: no schedule 'nope'; schedules: {SCENARIO}\n")
    assert "BEGIN:VEVENT" in looks[4][1]
    assert looked_up(drill) == looks  # and the next look sees the same


def test_schedule_lookups_on_a_workspace_without_a_store_leave_it_without_one(drill: Drill) -> None:
    drill = drill.pinned()
    (drill.root / "logs").rmdir()
    before = files_under(drill.root)
    looks = looked_up(drill)
    assert files_under(drill.root) == before  # no logs/, no schedule.db
    assert [code for code, _out, _err in looks] == [0, 0, 2, 2, 0, 0, 0, 0]
    assert json.loads(looks[1][1]) == []


@contextmanager
def made_read_only(root: Path) -> Iterator[None]:
    """`root` and everything under it without write permission, restored after."""
    modes = {path: path.stat().st_mode for path in [root, *root.rglob("*")]}
    for path, mode in modes.items():
        path.chmod(mode & ~0o222)
    try:
        yield
    finally:
        for path, mode in reversed(modes.items()):
            path.chmod(mode)


def test_schedule_lookups_on_a_read_only_workspace_say_what_a_writable_one_says(drill: Drill) -> None:
    drill = scheduled_and_stopped(drill)
    before = files_under(drill.root)
    with made_read_only(drill.root):
        read_only = looked_up(drill.refused_by_file_modes)
    assert files_under(drill.root) == before
    assert read_only == looked_up(drill)


def test_a_read_only_copy_taken_while_a_writer_held_the_store_reads_through_its_wal(
    drill: Drill, tmp_path: Path
) -> None:
    drill = drill.pinned()
    drill("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "UTC", ok=True)
    copy = Drill(tmp_path / "copy", now=drill.now)
    with open_store(Workspace(drill.root)) as writer:
        writer.set_paused(SCENARIO, True, parse_utc(FAKE_NOW))  # committed to the -wal only
        shutil.copytree(drill.root, copy.root)
    assert {"schedule.db-wal", "schedule.db-shm"} <= {path.name for path in (copy.root / "logs").iterdir()}
    before = files_under(copy.root)
    with made_read_only(copy.root):
        done = copy.refused_by_file_modes("schedule", "list", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert [(row["id"], row["paused"]) for row in json.loads(done.stdout)] == [(SCENARIO, True)]
    assert files_under(copy.root) == before


def test_a_damaged_schedule_store_is_one_line_for_every_lookup(drill: Drill) -> None:
    (drill.root / "logs" / "schedule.db").write_bytes(b"not a database, just some bytes\n" * 64)
    for code, out, err in looked_up(drill):
        assert (code, out) == (1, "")
        assert err == f"drill: logs/schedule.db: file is not a database; {DAMAGED}\n"
