"""A plans folder that cannot be read is named, never taken for one without plans: `drill validate`
says so and exits 1, the commands that need a plan refuse in one line and exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Drill


@pytest.fixture(params=["playbooks", "scenarios"])
def shut(request: pytest.FixtureRequest, drill: Drill) -> Iterator[str]:
    """The name of a plans folder made unreadable (mode 000) for the test."""
    folder: Path = drill.root / request.param
    folder.chmod(0o000)
    try:
        yield request.param
    finally:
        folder.chmod(0o750)


def _reason(folder: str) -> str:
    return f"cannot read it: Permission denied; {folder}/ must be a folder drill can read, or absent"


def test_validate_names_a_plans_folder_it_cannot_read(drill: Drill, shut: str) -> None:
    done = drill.refused_by_file_modes("validate")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == f"{shut}/:1:1: {_reason(shut)}"
    assert "all plans are valid" not in done.stderr


@pytest.mark.parametrize(
    "command", [("simulate", "core-outage-q4"), ("schedule", "add", "core-outage-q4", "--cron", "0 9 * * mon")]
)
def test_a_command_that_needs_the_plans_refuses_in_one_line(drill: Drill, shut: str, command: tuple[str, ...]) -> None:
    before = sorted(drill.root.rglob("*"))
    done = drill.refused_by_file_modes(*command)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"drill: {shut}/: {_reason(shut)}\n")
    assert sorted(drill.root.rglob("*")) == before
