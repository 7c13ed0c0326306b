"""Drills: `drill simulate`, `drill start` (foreground, --speed, --detach), `drill resume`, the board."""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DRILL, Drill, read_events, require_tool
from tests.teamdb import TeamDb

FAST_DRILL = """\
scenario: fast-drill
title: Fast drill for timing tests
playbook: core-network-outage
severity: II
form: functional
participants: {{lead: alice, noc: bob, comms: carol}}
time_limit: {limit}
injects:
{injects}
"""


def write_fast_drill(root: Path, *, limit: str, every: int, count: int) -> None:
    injects = "\n".join(f"  - {{id: i{n:03d}, at: {n * every}s, message: inject {n}}}" for n in range(count))
    text = FAST_DRILL.format(limit=limit, injects=injects)
    (root / "scenarios" / "fast-drill.yaml").write_text(text, encoding="utf-8")


def utc(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def wall_lateness(events: list[dict[str, Any]], event: dict[str, Any]) -> float:
    """Seconds of wall time between when an inject was due and when it was written."""
    started, speed = utc(events[0]["ts"]), float(events[0]["speed"])
    due = started + timedelta(seconds=float(event["due"]) / speed)
    return (utc(event["ts"]) - due).total_seconds()


def only_run(root: Path) -> str:
    runs = sorted((root / "logs" / "runs").glob("*.jsonl"))
    assert len(runs) == 1
    return runs[0].stem


# --- simulate ----------------------------------------------------------------------------------


def test_every_passing_sample_simulates_with_exit_0(drill: Drill) -> None:
    passing = [p.stem for p in (drill.root / "scenarios").glob("*.yaml") if not p.stem.endswith("-late-ack")]
    assert len(passing) >= 3
    for scenario in passing:
        done = drill("simulate", scenario, "--json")
        assert done.returncode == 0, f"{scenario}: {done.stderr}"
        document = json.loads(done.stdout)
        assert document["run"]["mode"] == "simulation"
        assert document["run"]["outcome"] == "resolved"
        assert {m["verdict"] for m in document["metrics"]} <= {"met", "unmeasured"}
        assert {e["verdict"] for e in document["expectations"]} == {"met"}
        assert document["integrity"]["verdict"] == "ok"


@pytest.mark.parametrize("scenario", ["dns-outage-late-ack", "data-leak-late-ack"])
def test_late_acknowledgement_breaches_escalates_and_rejects_the_late_step(drill: Drill, scenario: str) -> None:
    done = drill("simulate", scenario, "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    events = document["events"]
    initial = events[0]["state"]
    breach = next(e for e in events if e["event"] == "deadline.breached" and e.get("state") == initial)
    system_move = next(e for e in events if e["event"] == "transition" and e["actor"] == "system")
    assert events.index(breach) < events.index(system_move)
    assert system_move["from"] == initial
    assert system_move["due"] == breach["due"]
    assert "rejected step" in done.stderr
    assert "is not valid in state" in done.stderr
    ack = next(e for e in document["expectations"] if e["expect"].startswith("trigger:"))
    assert ack["verdict"] == "missed"


def test_a_rejected_step_writes_nothing(drill: Drill) -> None:
    done = drill("simulate", "dns-outage-late-ack", "--json")
    events = json.loads(done.stdout)["events"]
    rejected_at = 420.0
    assert not [e for e in events if e["t"] == rejected_at and e["actor"] != "system"]


@pytest.mark.parametrize(
    ("public", "why"),
    [
        ("garbage", "expected NAME+KEYID+KEY"),
        ("ws+00000000+" + "A" * 43 + "=", "not an Ed25519 key (8 hex digits of key id, 0x01 and 32 key bytes)"),
    ],
    ids=["shape", "key"],
)
def test_a_seal_public_key_that_cannot_be_read_stops_a_simulation_before_it_writes(
    drill: Drill, public: str, why: str
) -> None:
    """Its verdicts' integrity footer checks seals with that key: refused (2) after writing, it was."""
    (drill.root / "drill.toml").write_text(f'[integrity]\nseal_public_key = "{public}"\n', encoding="utf-8")
    done = drill("simulate", "core-outage-q4")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"drill: drill.toml: [integrity] seal_public_key: public key: {why}\n"
    assert not (drill.root / "logs" / "runs").exists()


def test_simulation_is_deterministic_but_for_run_id_and_ts(drill: Drill) -> None:
    def comparable(run_id: str) -> list[dict[str, Any]]:
        volatile = {"run", "ts", "req", "prev", "hash", "head"}
        return [{k: v for k, v in e.items() if k not in volatile} for e in drill.events(run_id)]

    first = json.loads(drill("simulate", "core-outage-q4", "--json", ok=True).stdout)["run"]["id"]
    second = json.loads(drill("simulate", "core-outage-q4", "--json", ok=True).stdout)["run"]["id"]
    assert first != second
    assert comparable(first) == comparable(second)


def test_simulation_timestamps_follow_the_drill_clock(drill: Drill) -> None:
    run_id = json.loads(drill("simulate", "core-outage-q4", "--json", ok=True).stdout)["run"]["id"]
    events = drill.events(run_id)
    start = utc(events[0]["ts"])
    for event in events:
        assert (utc(event["ts"]) - start).total_seconds() == pytest.approx(event["t"], abs=0.001)


# --- live drills -------------------------------------------------------------------------------


@pytest.mark.slow
def test_speed_60_drill_of_30_minutes_ends_in_about_30_seconds_with_injects_on_time(drill: Drill) -> None:
    write_fast_drill(drill.root, limit="30m", every=60, count=30)
    began = time.monotonic()
    done = drill("start", "fast-drill", "--by", "alice", "--speed", "60")
    took = time.monotonic() - began
    assert 29.0 <= took <= 36.0, took
    assert done.returncode == 1  # nobody acted: targets missed
    events = drill.events(only_run(drill.root))
    injects = [e for e in events if e["event"] == "inject.delivered"]
    assert [e["inject"] for e in injects] == [f"i{n:03d}" for n in range(30)]
    assert max(wall_lateness(events, e) for e in injects) < 1.0
    assert not any(e["late"] for e in injects)
    assert events[-1]["event"] == "run.ended"
    assert events[-1]["outcome"] == "timed-out"


def start_foreground(drill: Drill, *args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    """A foreground `drill start` (plain output); its process and run id."""
    process = subprocess.Popen(
        [str(DRILL), "start", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=drill.env(**env)
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "started" in line, line
    return process, line.split()[1]


@pytest.mark.slow
def test_an_act_from_another_terminal_shows_within_a_second(drill: Drill) -> None:
    process, run_id = start_foreground(drill, "core-outage-q4", "--by", "alice")
    assert process.stdout is not None
    try:
        drill("act", run_id, "acknowledge", "--by", "bob", ok=True)
        acted = time.monotonic()
        while True:
            line = process.stdout.readline()
            assert line, "the conductor stopped before showing the act"
            if "transition by bob" in line:
                break
        assert time.monotonic() - acted < 1.0
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert f"drill resume {run_id}" in err
    assert process.returncode == 0
    kinds = [e["event"] for e in drill.events(run_id)]
    assert "run.ended" not in kinds  # Ctrl-C left it running


def test_a_second_conductor_of_one_run_gets_exit_3(drill: Drill) -> None:
    process, run_id = start_foreground(drill, "core-outage-q4", "--by", "alice")
    try:
        done = drill("resume", run_id)
        assert done.returncode == 3
        assert "already being conducted" in done.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


def test_detach_prints_the_run_id_alone(drill: Drill) -> None:
    done = drill("start", "core-outage-q4", "--detach", "--as", "comms=dave", "--by", "dave", ok=True)
    run_id = done.stdout.strip()
    assert done.stdout == run_id + "\n"
    first = drill.events(run_id)[0]
    assert first["mode"] == "drill"
    assert first["participants"] == {"lead": "alice", "noc": "bob", "comms": "dave"}


@pytest.mark.slow
def test_kill_9_of_the_conductor_then_resume_delivers_each_inject_once(drill: Drill) -> None:
    write_fast_drill(drill.root, limit="40m", every=15, count=159)
    run_id = drill("start", "fast-drill", "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
    rng = random.Random(7)
    for cycle in range(20):
        conductor = subprocess.Popen(
            [str(DRILL), "resume", run_id], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=drill.env()
        )
        time.sleep(rng.uniform(0.3, 0.9))
        conductor.kill()
        conductor.wait()
        time.sleep(1.5 if cycle % 4 == 0 else rng.uniform(0.1, 0.5))  # some gaps outlast the 1 s lateness bound
    drill("resume", run_id)
    events = drill.events(run_id)
    injects = [e for e in events if e["event"] == "inject.delivered"]
    ids = [e["inject"] for e in injects]
    assert sorted(ids) == sorted(set(ids)), "an inject was delivered twice"
    assert len(ids) == 159
    assert ids == sorted(ids)
    late = [e for e in injects if e["late"]]
    assert late, "no inject came due while the conductor was down"
    for event in injects:
        lateness = wall_lateness(events, event)
        if lateness > 1.2:
            assert event["late"], event
        if lateness < 0.8:
            assert not event["late"], event


# --- the board ---------------------------------------------------------------------------------


def test_plain_output_has_no_escape_codes(drill: Drill) -> None:
    write_fast_drill(drill.root, limit="2m", every=30, count=4)
    done = drill("start", "fast-drill", "--by", "alice", "--speed", "120")
    assert "\x1b" not in done.stdout + done.stderr
    assert "[DRILL / 演练]" in done.stdout
    assert "inject.delivered" in done.stdout


@pytest.mark.slow
def test_live_board_under_tmux_shows_banner_state_clock_and_next_deadline(drill: Drill, tmp_path: Path) -> None:
    require_tool("tmux", why="the live board on a real terminal")
    session = f"drill-board-{os.getpid()}"
    env = {k: v for k, v in drill.env().items() if k != "NO_COLOR"}
    command = f"{DRILL} start core-outage-q4 --by alice --speed 30"
    socket = str(tmp_path / "tmux.sock")
    subprocess.run(
        ["tmux", "-S", socket, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command],
        env=env,
        check=True,
    )
    try:
        time.sleep(3.0)
        screen = subprocess.run(
            ["tmux", "-S", socket, "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], check=False)
    (tmp_path / "board.txt").write_text(screen, encoding="utf-8")
    assert "DRILL / 演练" in screen
    assert "state: " in screen
    assert "clock: T+00:" in screen
    assert "next deadline: " in screen
    assert "open checklist: " in screen


def test_resume_of_an_unknown_run_is_refused(drill: Drill) -> None:
    done = drill("resume", "20261129T080000Z-core-network-outage-0000")
    assert done.returncode == 2
    assert "no run" in done.stderr
    done = drill("resume", "../../etc/passwd")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_taken_run_id_is_never_overwritten_a_new_one_is_drawn(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run ids of one second differ in 16 random bits; hundreds of simulations a second meet a taken one."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.simulate import simulate

    draws = iter(["abcd", "abcd", "abcd", "beef"])
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(draws))
    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    first = simulate(ws, clock, "core-outage-q4")
    record = ws.run_file(first.run_id).read_bytes()
    second = simulate(ws, clock, "core-outage-q4")
    assert (first.run_id[-4:], second.run_id[-4:]) == ("abcd", "beef")
    assert ws.run_file(first.run_id).read_bytes() == record
    assert second.events[-1]["event"] == "run.ended"


def test_runs_due_together_are_each_recorded_once_in_order(workspace: Path) -> None:
    """A conductor records runs that come due at the same moment side by side; each record stays whole."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.conductor import Conductor
    from drillkit.services.drills import start_drill

    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    run_ids = [start_drill(ws, "core-outage-q4", clock=clock, by="lead") for _ in range(12)]
    conductor = Conductor(ws, clock)
    for run_id in run_ids:
        conductor.adopt_or_fail(run_id)
    try:
        clock.advance(20 * 60)  # several injects and the acknowledgement deadline of every run are due
        conductor.tick()  # hands every run to the writers; closing waits for them and reads them back
    finally:
        conductor.close()
    records = [read_events(ws.run_file(run_id)) for run_id in run_ids]
    recorded = [[(e["event"], e.get("inject") or e.get("state")) for e in events] for events in records]
    assert all(events == recorded[0] for events in recorded)
    delivered = [name for event, name in recorded[0] if event == "inject.delivered"]
    assert len(delivered) >= 2
    assert len(set(delivered)) == len(delivered)
    assert ("deadline.breached", "detected") in recorded[0]


def test_a_step_after_the_run_ended_is_reported_as_rejected(drill: Drill) -> None:
    path = drill.root / "scenarios" / "core-outage-q4.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "  - {at: 50m, by: alice, trigger: resolve}\n",
            "  - {at: 50m, by: alice, trigger: resolve}\n  - {at: 55m, by: bob, note: too late}\n",
        ),
        encoding="utf-8",
    )
    done = drill("simulate", "core-outage-q4", "--json")
    assert done.returncode == 1
    assert "rejected step at T+3300s by bob" in done.stderr
    assert "has ended (resolved)" in done.stderr
    assert not [e for e in json.loads(done.stdout)["events"] if e.get("text") == "too late"]


def test_a_run_whose_record_breaks_is_dropped_and_the_others_stay_on_time(workspace: Path) -> None:
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.conductor import Conductor
    from drillkit.services.drills import start_drill

    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    broken, healthy = (start_drill(ws, "core-outage-q4", clock=clock, by="lead") for _ in range(2))
    dropped: list[tuple[str, str]] = []
    conductor = Conductor(ws, clock, dropped=lambda run, error: dropped.append((run, str(error))))
    for run_id in (broken, healthy):
        conductor.adopt_or_fail(run_id)
    with ws.run_file(broken).open("ab") as record:
        record.write(b"not json\n")
    try:
        clock.advance(20 * 60)
        conductor.tick()
    finally:
        conductor.close()
    assert dropped == [(broken, f"line 2 of the record of {broken} is not a JSON object (run `drill verify`)")]
    assert [e["event"] for e in read_events(ws.run_file(healthy))].count("inject.delivered") >= 2


def test_a_run_another_conductor_took_while_the_team_store_was_cut_off_is_let_go(
    team_db: TeamDb, workspace: Path
) -> None:
    """Two conductors never drive one run: one whose session was lost, and whose lock another
    process took meanwhile, drops the run, saying why, and goes on with the others."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.conductor import Conductor
    from drillkit.services.drills import start_drill
    from drillkit.store.postgres.records import CONDUCT_LOCK

    (workspace / "drill.toml").write_text(f'[store]\nurl = "{team_db.url}"\n', encoding="utf-8")
    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    taken, kept = (start_drill(ws, "core-outage-q4", clock=clock, by="lead") for _ in range(2))
    dropped: list[tuple[str, str]] = []
    conductor = Conductor(ws, clock, dropped=lambda run, error: dropped.append((run, str(error))))
    for run_id in (taken, kept):
        conductor.adopt_or_fail(run_id)
    team_db.cut_listeners()
    with team_db.connect(team_db.url) as rival:
        rival.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (CONDUCT_LOCK, taken))
        time.sleep(1.1)  # a conductor looks at its session at most once a second
        try:
            clock.advance(20 * 60)
            conductor.tick()
        finally:
            conductor.close()
    assert dropped == [
        (
            taken,
            f"run {taken} is conducted by another process now: this one lost its session with the team"
            " store, and another conductor took the run meanwhile",
        )
    ]
    assert "inject.delivered" in [e["event"] for e in conductor.runs.store.read(kept)]


def test_a_run_whose_append_stalls_does_not_hold_up_the_others(workspace: Path) -> None:
    """Someone's `drill act` is stopped (Ctrl-Z) while it holds one run's record lock: the conductor
    still records the other run's inject on time, and the stalled run's once the lock is let go."""
    import fcntl

    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import SystemClock
    from drillkit.services.conductor import POLL, Conductor
    from drillkit.services.drills import start_drill

    ws, clock = Workspace(workspace), SystemClock()
    stalled, healthy = (start_drill(ws, "core-outage-q4", clock=clock, by="lead", speed=600) for _ in range(2))
    conductor = Conductor(ws, clock)

    def conduct_for(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            clock.sleep(min(conductor.tick(), POLL))

    try:
        for run_id in (stalled, healthy):
            conductor.adopt_or_fail(run_id)
        with ws.run_file(stalled).open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            conduct_for(1.6)  # the 10-minute inject is due 1 s after the start at speed 600
            assert [e["event"] for e in read_events(ws.run_file(stalled))] == ["run.started"]
        conduct_for(0.5)
    finally:
        conductor.close()
    healthy_events = read_events(ws.run_file(healthy))
    [complaints] = [e for e in healthy_events if e.get("inject") == "complaints"]
    due = utc(healthy_events[0]["ts"]) + timedelta(seconds=1)
    assert timedelta(0) <= utc(complaints["ts"]) - due < timedelta(seconds=0.5)
    delivered = [e["inject"] for e in read_events(ws.run_file(stalled)) if e["event"] == "inject.delivered"]
    assert delivered == ["alarm", "complaints"]


def test_a_slow_append_does_not_let_a_pinned_clock_sleep_past_what_comes_due_next(workspace: Path) -> None:
    """On a pinned clock (DRILL_FAKE_NOW) drill time moves only when the conductor sleeps: an append
    that takes a while (its record locked by someone else for 50 ms) must not make it sleep past the
    next due thing, so everything is still recorded at its due time."""
    import fcntl
    import threading

    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.conductor import POLL, Conductor
    from drillkit.services.drills import start_drill

    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    run_id = start_drill(ws, "core-outage-q4", clock=clock, by="lead", speed=6000)
    conductor = Conductor(ws, clock)
    held = ws.run_file(run_id).open("rb")
    fcntl.flock(held, fcntl.LOCK_EX)
    threading.Timer(0.05, held.close).start()
    try:
        conductor.adopt_or_fail(run_id)
        for _ in range(1000):
            if conductor.state(run_id) is None:
                break
            clock.sleep(min(conductor.tick(), POLL))
    finally:
        conductor.close()
    events = read_events(ws.run_file(run_id))
    assert events[-1]["event"] == "run.ended"
    assert [(e["event"], e["due"], e["t"]) for e in events if "due" in e and e["t"] != e["due"]] == []


def test_on_a_pinned_clock_a_stalled_append_does_not_stop_time_for_the_other_runs(workspace: Path) -> None:
    """Drill time on a pinned clock moves only when the conductor sleeps: while one run's append waits
    on a lock someone holds, the conductor still sleeps to the other run's due times and records them."""
    import fcntl

    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.conductor import POLL, Conductor
    from drillkit.services.drills import start_drill

    ws, clock = Workspace(workspace), VirtualClock(utc("2026-11-29T08:00:00Z"))
    stalled, other = (start_drill(ws, "core-outage-q4", clock=clock, by="lead", speed=6000) for _ in range(2))
    conductor = Conductor(ws, clock)
    try:
        for run_id in (stalled, other):
            conductor.adopt_or_fail(run_id)
        with ws.run_file(stalled).open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            until = time.monotonic() + 5
            while conductor.state(other) is not None and time.monotonic() < until:
                clock.sleep(min(conductor.tick(), POLL))
            assert conductor.state(other) is None, "the other run was not conducted to its end"
    finally:
        conductor.close()
    events = read_events(ws.run_file(other))
    assert events[-1]["event"] == "run.ended"
    assert [(e["event"], e["due"], e["t"]) for e in events if "due" in e and e["t"] != e["due"]] == []
