"""A reviewer who may read a workspace but not write it: every reading command answers, and the
workspace is left exactly as it was.

The tests run as root in CI, and root writes anywhere; the reader runs under `setpriv` without
the capabilities that let root ignore file modes, so the modes bind it as they bind anyone.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import DRILL, Drill

LATER = "2026-11-29T09:00:00Z"  # an hour after FAKE_NOW: the incident's first deadlines have passed
SCENARIO = "core-outage-q4"


def as_reader(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to read as a user without root's file access")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *argv]


def read(drill: Drill, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        as_reader([str(DRILL), *args]),
        capture_output=True,
        text=True,
        env=drill.env(DRILL_FAKE_NOW=LATER),
        timeout=60,
        check=False,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in sorted(root.rglob("*"))}


@contextmanager
def read_only(root: Path) -> Iterator[None]:
    """The workspace with every write bit cleared, restored after."""
    modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")]}
    for path, mode in modes.items():
        path.chmod(stat.S_IMODE(mode) & ~0o222)
    try:
        yield
    finally:
        for path, mode in reversed(modes.items()):
            path.chmod(stat.S_IMODE(mode))


def test_a_reader_who_cannot_write_gets_every_view_and_changes_nothing(drill: Drill, tmp_path: Path) -> None:
    pinned = drill.pinned()
    pinned("schedule", "add", SCENARIO, "--cron", "0 9 * * mon", "--tz", "Asia/Shanghai", ok=True)
    pinned("simulate", SCENARIO)
    run = pinned.open()
    before = snapshot(drill.root)
    with read_only(drill.root):
        assert read(drill, "note", run, "hello", "--by", "bob").returncode != 0  # writing is refused
        listed = read(drill, "schedule", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)[0]["next_fire"] == "2026-11-30T01:00:00.000Z"
        for args in (["playbooks"], ["runs"], ["verify", "--all"], ["report"], ["schedule", "export", "-f", "ics"]):
            done = read(drill, *args)
            assert done.returncode == 0, f"drill {' '.join(args)}: {done.stderr}"
        coverage = read(drill, "coverage")  # exit 1: most sample plans were never drilled
        assert (coverage.returncode, coverage.stderr) == (1, "")
        assert "core-network-outage" in coverage.stdout
        for args in (["status", run, "--json"], ["timeline", run], ["export", run, "--format", "json"]):
            done = read(drill, *args)
            assert done.returncode == 0, f"drill {' '.join(args)}: {done.stderr}"
            assert f"{run} has deadlines or injects due that only a writer can record" in done.stderr
        status = json.loads(read(drill, "status", run, "--json").stdout)
        assert status["state"] == "detected"
    assert snapshot(drill.root) == before


def test_a_reader_sees_the_schedules_while_a_writer_holds_the_store_open(drill: Drill) -> None:
    pinned = drill.pinned()
    pinned("schedule", "add", SCENARIO, "--every", "30d", "--id", "monthly", ok=True)
    store = sqlite3.connect(drill.root / "logs" / "schedule.db", isolation_level=None)
    try:
        store.execute("PRAGMA journal_mode = WAL")
        store.execute("BEGIN IMMEDIATE")
        store.execute("UPDATE schedules SET paused = 1")  # a change not committed yet is not seen
        with read_only(drill.root):
            listed = read(drill, "schedule", "list", "--json")
        store.execute("ROLLBACK")
    finally:
        store.close()
    assert listed.returncode == 0, listed.stderr
    assert [(row["id"], row["paused"]) for row in json.loads(listed.stdout)] == [("monthly", False)]


def test_reading_a_fresh_workspace_creates_no_schedule_store(drill: Drill) -> None:
    drill("playbooks", ok=True)
    drill("schedule", "list", ok=True)
    assert drill("coverage").returncode == 1  # nothing drilled yet
    assert not (drill.root / "logs" / "schedule.db").exists()


def test_a_store_file_without_tables_reads_as_empty_and_a_damaged_one_is_one_line(drill: Drill) -> None:
    store = drill.root / "logs" / "schedule.db"
    store.parent.mkdir(exist_ok=True)
    store.write_bytes(b"")  # a writer stopped between creating the file and its tables
    assert json.loads(drill("schedule", "list", "--json", ok=True).stdout) == []
    drill("playbooks", ok=True)
    assert store.read_bytes() == b""
    store.write_bytes(b"not a database, " * 512)
    damaged = drill("schedule", "list")
    assert (damaged.returncode, damaged.stdout) == (1, "")
    assert damaged.stderr.startswith("drill: logs/schedule.db: ")
    assert len(damaged.stderr.splitlines()) == 1
