"""A record or the folder of records that cannot be read is named, never taken for no runs: the
commands that list runs (`status`, `runs`, `report`) and the scheduler say so in one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Drill


@pytest.mark.parametrize("command", [("status",), ("runs",), ("report",)])
def test_a_folder_of_records_that_cannot_be_read_is_an_error_not_an_empty_list(
    drill: Drill, command: tuple[str, ...]
) -> None:
    drill.open()
    runs = drill.root / "logs" / "runs"
    runs.chmod(0o000)
    try:
        done = drill.refused_by_file_modes(*command)
    finally:
        runs.chmod(0o750)
    assert done.returncode == 1, done.stdout
    assert done.stderr == "drill: cannot list logs/runs: Permission denied\n"


def test_an_open_run_whose_record_cannot_be_read_is_named_by_status_and_the_scheduler(drill: Drill) -> None:
    run = drill.open()
    record: Path = drill.record(run)
    record.write_bytes(record.read_bytes()[:100])  # its first line cut: not a run the listing can read
    status = drill("status")
    assert status.returncode == 1
    assert run in status.stderr
    assert len(status.stderr.splitlines()) == 1
    once = drill("scheduler", "--once")
    assert once.returncode == 1
    assert "1 dropped" in once.stderr
