"""`logs/` or `logs/runs/` as a symbolic link out of the workspace: followed only to the place
`drill.toml` names ([paths]), otherwise refused in one line naming both paths (issue 20)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FAKE_NOW, Drill


def _moved_out(link: Path, outside: Path) -> Path:
    """`link` (a folder of the workspace) moved to `outside`, a symbolic link left in its place."""
    outside.parent.mkdir(parents=True, exist_ok=True)
    if link.is_dir():
        shutil.move(link, outside)
    else:
        outside.mkdir()
    link.symlink_to(outside)
    return outside.resolve()


@pytest.mark.parametrize("folder", ["logs", "logs/runs"])
def test_a_link_out_of_the_workspace_is_refused_naming_both_paths(drill: Drill, tmp_path: Path, folder: str) -> None:
    drill = drill.pinned()
    (drill.root / "logs" / "runs").mkdir(parents=True, exist_ok=True)
    outside = _moved_out(drill.root / folder, tmp_path / "elsewhere" / "records")
    before = sorted(outside.rglob("*"))
    key = folder.rsplit("/", 1)[-1]
    for args in (
        ("runs",),
        ("open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice"),
        ("verify",),
    ):
        done = drill(*args)
        assert (done.returncode, done.stdout) == (2, ""), args
        assert done.stderr.splitlines() == [
            f"drill: {folder}/ is a symbolic link to {outside}, outside the workspace {drill.root}; follow it by "
            f'naming that place in drill.toml ([paths] {key} = "{outside}"), or make {folder}/ a folder'
        ], args
    assert sorted(outside.rglob("*")) == before  # nothing was written there


@pytest.mark.parametrize("folder", ["logs", "logs/runs"])
def test_a_link_to_the_place_drill_toml_names_is_followed(drill: Drill, tmp_path: Path, folder: str) -> None:
    drill = drill.pinned()
    (drill.root / "logs" / "runs").mkdir(parents=True, exist_ok=True)
    outside = _moved_out(drill.root / folder, tmp_path / "elsewhere" / "records")
    key = folder.rsplit("/", 1)[-1]
    named = f'[paths]\n{key} = "{outside}"\n'
    (drill.root / "drill.toml").write_text(named, encoding="utf-8")
    run = drill.open()
    runs = outside if folder == "logs/runs" else outside / "runs"
    assert (runs / f"{run}.jsonl").is_file()
    assert run in drill("runs", ok=True).stdout
    drill("verify", run, ok=True)
    (drill.root / "drill.toml").write_text(f'[paths]\n{key} = "{tmp_path / "another"}"\n', encoding="utf-8")
    assert drill("runs").returncode == 2  # a place drill.toml does not name is not followed
    (drill.root / "drill.toml").write_text(named, encoding="utf-8")  # for the teardown's verification


def test_a_link_that_stays_inside_the_workspace_is_followed(drill: Drill) -> None:
    drill.root.joinpath("var").mkdir()
    _moved_out(drill.root / "logs", drill.root / "var" / "logs")
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert (drill.root / "var" / "logs" / "runs" / f"{run}.jsonl").is_file()


def test_validate_names_a_place_that_is_not_a_path(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text("[paths]\nlogs = 3\n", encoding="utf-8")
    done = drill("validate")
    assert done.returncode == 1
    assert "drill.toml:2:1: [paths] logs must be a folder's path in quotes" in done.stdout + done.stderr
