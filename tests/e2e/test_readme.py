"""The README's set-up commands and its incident walk-through are true: they run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(heading: str) -> str:
    start = README.index(f"\n{heading}\n")
    following = re.search(r"\n#{1,3} ", README[start + len(heading) + 2 :])
    return README[start : start + len(heading) + 2 + (following.start() if following else len(README))]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_set_up_has_exactly_two_commands() -> None:
    blocks = shell_blocks(section("## Set up"))
    assert len(blocks) == 2
    assert all(len(block.strip().splitlines()) == 1 for block in blocks)


def test_ci_runs_the_readmes_test_command() -> None:
    test_command = shell_blocks(section("## Set up"))[1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert test_command.replace("pytest -q", "pytest") in {line.replace("pytest -q", "pytest") for line in ci_lines}


def tracked_copy(target: Path) -> Path:
    """The repository as a fresh checkout would have it (tracked files only, links kept)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, copy = ROOT / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        elif source.exists():
            shutil.copy2(source, copy)
    return target


@pytest.mark.slow
def test_the_first_set_up_command_installs_and_runs_the_sample_drill(tmp_path: Path) -> None:
    checkout = tracked_copy(tmp_path / "checkout")
    command = shell_blocks(section("## Set up"))[0].strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRILL_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        ["bash", "-c", command], cwd=checkout, capture_output=True, text=True, env=env, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all plans are valid" in done.stderr
    assert "[DRILL / 演练]" in done.stdout
    assert "resolved" in done.stdout
    assert len(list((checkout / "logs" / "runs").glob("*.jsonl"))) == 1


def test_the_incident_walk_through_runs_as_written(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    drill = Path(sys.executable).with_name("drill")
    subprocess.run([str(drill), "init", str(workspace)], check=True, capture_output=True)
    script = shell_blocks(section("### A real incident"))[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env |= {"PATH": f"{drill.parent}{os.pathsep}{env.get('PATH', '')}", "DRILL_WORKSPACE": str(workspace)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "resolve: mitigated -> resolved" in done.stderr
    listed = subprocess.run([str(drill), "runs"], capture_output=True, text=True, env=env, check=True).stdout
    assert "resolved" in listed
