"""A workspace drill may not write to (read-only, or another user's) fails a writing command in
one line, exit 1, with nothing written: never an internal error."""

from __future__ import annotations

import pytest

from tests.conftest import Drill

WRITERS = {
    "open": ("open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice"),
    "simulate": ("simulate", "core-outage-q4"),
    "keys-init": ("keys", "init"),
    "scheduler": ("scheduler", "--once"),
}


@pytest.mark.parametrize("command", WRITERS.values(), ids=WRITERS.keys())
def test_a_workspace_drill_may_not_write_to_is_one_line_and_untouched(drill: Drill, command: tuple[str, ...]) -> None:
    drill.open()
    shut = [drill.root / "logs", drill.root / "logs" / "runs"]
    before = sorted(drill.root.rglob("*"))
    for folder in shut:
        folder.chmod(0o555)
    try:
        done = drill.refused_by_file_modes(*command)
    finally:
        for folder in shut:
            folder.chmod(0o750)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("drill: cannot "), done.stderr
    assert "Permission denied" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert sorted(drill.root.rglob("*")) == before
