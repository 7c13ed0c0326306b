"""Bad input is refused at the door: exit 2, one line on stderr, nothing written under `logs/`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DRILL, FAKE_NOW, Drill


def _logs(root: Path) -> dict[str, bytes]:
    """Every file under `logs/` with its bytes."""
    logs = root / "logs"
    return {str(p.relative_to(logs)): p.read_bytes() for p in sorted(logs.rglob("*")) if p.is_file()}


def _refused(drill: Drill, *args: str, **env: str) -> str:
    """Runs a command that must be refused: exit 2, one stderr line, no stdout, `logs/` unchanged; the line."""
    before = _logs(drill.root)
    done = subprocess.run(
        [str(DRILL), *args],
        capture_output=True,
        text=True,
        env=drill.env(**({"DRILL_FAKE_NOW": FAKE_NOW} | env)),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    assert _logs(drill.root) == before
    return lines[0]


def test_a_fake_now_that_is_not_a_time_names_the_variable_and_the_form(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    for garbage in ("garbage", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00"):
        line = _refused(drill, "open", "core-network-outage", "--severity", "II", DRILL_FAKE_NOW=garbage)
        assert "DRILL_FAKE_NOW" in line
        assert "2026-11-29T08:00:00Z" in line
        assert "internal error" not in line
        _refused(drill, "note", run, "hello", "--by", "bob", DRILL_FAKE_NOW=garbage)


def test_an_argument_that_is_not_utf8_is_refused_naming_its_position(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    bad = os.fsdecode(b"\xff\xfe")
    line = _refused(drill, "note", run, bad, "--by", "bob")
    assert "argument 3" in line
    assert "UTF-8" in line
    assert "internal error" not in line
    assert "argument 2" in _refused(drill, "open", bad, "--severity", "II")
    assert "argument 5" in _refused(drill, "note", run, "hello", "--by", f"bob{bad}")


BLANK_OR_CONTROL = ["", "   ", "\t", "bob\nmallory", "bob\x1b[31m", "bob\u2028"]


@pytest.mark.parametrize("name", BLANK_OR_CONTROL, ids=repr)
def test_a_blank_or_control_character_actor_is_refused(drill: Drill, name: str) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert "--by" in _refused(drill, "note", run, "hello", "--by", name)
    assert "--by" in _refused(drill, "act", run, "acknowledge", "--by", name)
    assert "--by" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--by", name)
    assert "--by" in _refused(drill, "start", "core-outage-q4", "--detach", "--by", name)
    if name:  # an empty DRILL_USER means "not set": the login name is used
        assert "DRILL_USER" in _refused(drill, "note", run, "hello", DRILL_USER=name)
        assert "DRILL_USER" in _refused(drill, "open", "core-network-outage", "--severity", "II", DRILL_USER=name)
    assert "person" in _refused(drill, "assign", run, "lead", name, "--by", "bob")
    if name.strip():
        assert "--as lead" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", f"lead={name}")
    else:
        assert "ROLE=NAME" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", f"lead={name}")


def test_a_name_is_recorded_without_surrounding_blanks(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "hello", "--by", "  bob ", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("assign", run, "comms", " 王芳 ", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    note, assigned = drill.events(run)[-2:]
    assert (note["event"], note["actor"]) == ("note", "bob")
    assert (assigned["event"], assigned["person"]) == ("assigned", "王芳")
