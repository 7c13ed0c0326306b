"""Schedulers on a team store (SPEC §8): one active by the lease, the others standing by and
saying so; a standby takes over when the active one dies; a scheduler that lost the lease has
its late writes refused by epoch."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DRILL, Drill
from tests.teamdb import TeamDb

LEASE = 3  # seconds


def _scheduler(drill: Drill, url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(DRILL), "scheduler"], env=drill.env(DRILL_STORE=url), stderr=out, stdout=out)


def _wait_for(log: Path, text: str, seconds: float) -> float:
    """Seconds until `text` appears in the log; fails after `seconds`."""
    start = time.monotonic()
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() - start < seconds, f"{log.name}: no {text!r} in {log.read_text()!r}"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
def test_a_standby_says_so_and_takes_over_when_the_active_scheduler_is_killed(
    drill: Drill, team_db: TeamDb, tmp_path: Path
) -> None:
    (drill.root / "drill.toml").write_text(f"[store]\nlease = {LEASE}\n", encoding="utf-8")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _scheduler(drill, team_db.scheduler, first_log)
    second = None
    try:
        _wait_for(first_log, "scheduler active (lease epoch 1)", 60)
        second = _scheduler(drill, team_db.scheduler, second_log)
        _wait_for(second_log, "standing by: the scheduler on", 60)
        status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.reviewer).stdout)
        assert (status["scheduler"]["pid"], status["scheduler"]["epoch"]) == (first.pid, 1)

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        took = _wait_for(second_log, "scheduler active (lease epoch 2)", 30)
        assert took < 15
        status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.reviewer).stdout)
        assert (status["scheduler"]["pid"], status["scheduler"]["epoch"]) == (second.pid, 2)
    finally:
        for daemon in (first, second):
            if daemon is not None and daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=60)


def test_store_status_tells_an_active_scheduler_from_one_that_stopped(drill: Drill, team_db: TeamDb) -> None:
    from drillkit.store.postgres.lease import Lease

    lease = Lease(team_db.scheduler, LEASE)
    assert lease.try_take()
    try:
        status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.reviewer).stdout)
        assert (status["scheduler"]["epoch"], status["scheduler"]["active"]) == (1, True)
    finally:
        lease.release()
    status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.reviewer).stdout)
    assert (status["scheduler"]["epoch"], status["scheduler"]["active"]) == (1, False)
    text = drill("store", "status", ok=True, DRILL_STORE=team_db.reviewer).stdout
    [line] = [line for line in text.splitlines() if line.startswith("scheduler")]
    assert line.startswith(f"scheduler none active; the last was {socket.gethostname()} (pid {os.getpid()}, epoch 1)")


# A scheduler's process: takes the lease, says so, waits for a line on stdin (while it waits it
# may be stopped, and its lease taken over), then tries to append and to claim a fire.
CUT_OFF = r"""
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.model.errors import DrillError
from drillkit.schedule.port import Fire
from drillkit.schedule.store import open_store
from drillkit.store.postgres.lease import Lease
from drillkit.store.stores import open_store as open_records

root, url, run = sys.argv[1:4]
lease = Lease(url, 2.0)
while not lease.try_take():  # a standby, until the lease runs out
    time.sleep(0.2)
print("active", lease.epoch, flush=True)
sys.stdin.readline()
ws = Workspace(Path(root))
note = {"event": "note", "actor": "scheduler", "role": None, "text": "late"}
try:
    open_records(ws).append(run, lambda events, now: [note], SystemClock())
    print("appended", flush=True)
except DrillError as refused:
    print("append refused:", refused, flush=True)
when = datetime(2026, 11, 29, 9, tzinfo=UTC)
try:
    fire = Fire(schedule="s", nominal=when, status="claimed", start_at=when, decided_at=when)
    open_store(ws).decide([fire], "s", when)
    print("claimed", flush=True)
except DrillError as refused:
    print("claim refused:", refused, flush=True)
"""


def _cut_off_scheduler(root: Path, url: str, run: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CUT_OFF, str(root), url, run],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "DRILL_STORE": url},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_scheduler_that_lost_its_lease_has_its_late_writes_refused_by_epoch(drill: Drill, team_db: TeamDb) -> None:
    run = drill.open(DRILL_STORE=team_db.url)
    (drill.root / "drill.toml").write_text(f'[store]\nurl = "{team_db.scheduler}"\n', encoding="utf-8")
    old = _cut_off_scheduler(drill.root, team_db.scheduler, run)
    assert old.stdin is not None
    assert old.stdout is not None
    assert old.stdout.readline().split() == ["active", "1"]
    old.send_signal(signal.SIGSTOP)  # cut off: it neither renews its lease nor writes
    try:
        new = _cut_off_scheduler(drill.root, team_db.scheduler, run)  # takes over once the lease runs out
        out, _ = new.communicate("\n", timeout=120)
        assert out.splitlines()[:3] == ["active 2", "appended", "claimed"]
    finally:
        old.send_signal(signal.SIGCONT)
    late, _ = old.communicate("\n", timeout=120)
    lines = late.splitlines()
    assert lines[0].startswith("append refused: this scheduler (epoch 1) was replaced by epoch 2"), late
    assert lines[1].startswith("claim refused: this scheduler (epoch 1) was replaced by epoch 2"), late
    texts = [
        e.get("text")
        for e in json.loads(drill("export", run, "--format", "json", ok=True, DRILL_STORE=team_db.url).stdout)["events"]
    ]
    assert texts.count("late") == 1
