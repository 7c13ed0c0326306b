"""`-o FILE` on every command that writes a file: never inside `logs/`, never over an existing file
without `--force`, never through a symbolic link, always whole (SPEC §6)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DRILL, FAKE_NOW, Drill

COMMANDS = ["export", "report", "schedule export"]
FIRST_LINE = {"export": "# ", "report": "# ", "schedule export": "BEGIN:VCALENDAR\r\n"}


def _args(command: str, run: str) -> tuple[str, ...]:
    return {
        "export": ("export", run, "--format", "md"),
        "report": ("report", "--format", "md", "--include-drills"),
        "schedule export": ("schedule", "export", "--format", "ics"),
    }[command]


def _logs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "logs").rglob("*")) if p.is_file()}


def _refused(drill: Drill, *args: str) -> str:
    """A command refused in one line with exit 2, stdout empty; the line."""
    done = subprocess.run(
        [str(DRILL), *args],
        check=False,
        capture_output=True,
        text=True,
        env=drill.env(DRILL_FAKE_NOW=FAKE_NOW),
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    return line


@pytest.fixture
def run(drill: Drill) -> str:
    run_id = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("report", "--format", "md", ok=True)  # the report's cache and the schedule store exist from here on
    drill("schedule", "export", "--format", "ics", ok=True)
    return run_id


def test_an_export_over_its_own_record_is_refused_and_the_record_kept(drill: Drill, run: str) -> None:
    """The attack of issue 20: `-o logs/runs/RUN.jsonl` overwrote the run's own evidence, exit 0."""
    before = _logs(drill.root)
    record = drill.record(run)
    for target in (
        record,
        drill.root / "logs" / "aar.md",
        drill.root / "logs" / "schedule.db",
        drill.root / "logs" / "new" / "x",
    ):
        line = _refused(drill, "export", run, "--format", "md", "--force", "-o", str(target))
        assert line.startswith(f"drill: -o {target}: inside the workspace's logs/"), line
    assert _logs(drill.root) == before
    drill("verify", run, ok=True)


def test_logs_reached_through_another_name_is_refused_too(drill: Drill, run: str, tmp_path: Path) -> None:
    alias = tmp_path / "evidence"
    alias.symlink_to(drill.root / "logs" / "runs")
    before = _logs(drill.root)
    line = _refused(drill, "export", run, "--format", "json", "-o", str(alias / f"{run}.jsonl"))
    assert "inside the workspace's logs/" in line
    relative = subprocess.run(
        [str(DRILL), "export", run, "-o", f"../logs/runs/{run}.jsonl", "--force"],
        check=False,
        capture_output=True,
        text=True,
        env=drill.env(),
        cwd=drill.root / "playbooks",
        timeout=60,
    )
    assert relative.returncode == 2, relative.stderr
    assert _logs(drill.root) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_file_is_replaced_only_with_force(drill: Drill, run: str, tmp_path: Path, command: str) -> None:
    target = tmp_path / "out.txt"
    target.write_text("last quarter's report\n", encoding="utf-8")
    line = _refused(drill, *_args(command, run), "-o", str(target))
    assert line == f"drill: -o {target}: the file exists; add --force to replace it"
    assert target.read_text(encoding="utf-8") == "last quarter's report\n"
    with target.open("rb") as reader_holding_the_old_file:
        drill(*_args(command, run), "-o", str(target), "--force", ok=True)
        assert reader_holding_the_old_file.read() == b"last quarter's report\n"  # renamed in, not rewritten
    assert target.read_bytes().decode("utf-8").startswith(FIRST_LINE[command])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symbolic_link_is_never_written_through(drill: Drill, run: str, tmp_path: Path, command: str) -> None:
    victim, dangling = tmp_path / "authorized_keys", tmp_path / "planted"
    victim.write_text("ssh-ed25519 AAAA… admin\n", encoding="utf-8")
    link, trap = tmp_path / "latest.md", tmp_path / "report.md"
    link.symlink_to(victim)
    trap.symlink_to(dangling)
    for path in (link, trap):
        for force in ((), ("--force",)):
            line = _refused(drill, *_args(command, run), *force, "-o", str(path))
            assert line == f"drill: -o {path}: a symbolic link; drill never writes through one: name the file itself"
    assert victim.read_text(encoding="utf-8") == "ssh-ed25519 AAAA… admin\n"
    assert not dangling.exists()
    assert link.is_symlink()
    assert trap.is_symlink()


def test_a_new_file_is_written_whole_as_0640(drill: Drill, run: str, tmp_path: Path) -> None:
    drill = drill.pinned()  # the same report twice
    target = tmp_path / "aar.md"
    old = os.umask(0o000)
    try:
        drill("export", run, "--format", "md", "-o", str(target), ok=True)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.read_text(encoding="utf-8") == drill("export", run, "--format", "md", ok=True).stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ws") == ["aar.md"]
