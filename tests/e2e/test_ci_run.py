"""`.ci/run` fails whenever a step of the README's test command fails, pytest's exit 5 ("no tests
ran") included, and runs pytest with `DRILL_REQUIRE_SERVICES=1`. Each tool it calls is a stub here
that says it ran and exits with a chosen code; nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("pip", "ruff", "mypy", "lint-imports", "pytest")


def stub(path: Path, exit_code: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'#!/bin/sh\necho "{path.name} ran, DRILL_REQUIRE_SERVICES=$DRILL_REQUIRE_SERVICES"\nexit {exit_code}\n',
        encoding="utf-8",
    )
    path.chmod(0o755)


def run_ci(tmp_path: Path, failing: str | None = None, exit_code: int = 1) -> subprocess.CompletedProcess[str]:
    """`.ci/run` in a checkout holding only it, with `failing` exiting `exit_code` and the rest 0."""
    checkout, tools = tmp_path / "checkout", tmp_path / "bin"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", checkout / ".ci" / "run")
    for step in STEPS:
        stub(checkout / ".venv" / "bin" / step, exit_code if step == failing else 0)
    stub(tools / "python3")  # `python3 -m venv .venv` keeps the stubs
    dirname = shutil.which("dirname")
    assert dirname
    (tools / "dirname").symlink_to(dirname)
    bash = shutil.which("bash")
    assert bash
    env = {"PATH": str(tools)}  # no apt-get: nothing is installed
    return subprocess.run(
        [bash, str(checkout / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_ci_passes_when_every_step_passes_and_pytest_must_not_skip(tmp_path: Path) -> None:
    done = run_ci(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pytest ran, DRILL_REQUIRE_SERVICES=1\n" in done.stdout


@pytest.mark.parametrize("failing", ["ruff", "mypy", "lint-imports"])
def test_ci_fails_when_a_check_before_pytest_fails(tmp_path: Path, failing: str) -> None:
    done = run_ci(tmp_path, failing)
    assert done.returncode != 0
    assert "pytest ran" not in done.stdout


def test_ci_fails_when_pytest_finds_no_tests(tmp_path: Path) -> None:
    done = run_ci(tmp_path, "pytest", exit_code=5)
    assert done.returncode == 5
