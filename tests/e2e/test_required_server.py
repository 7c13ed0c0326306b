"""The team store's tests where no PostgreSQL server answers: skipped with a one-line reason,
failed instead under `DRILL_REQUIRE_SERVICES=1` (as CI sets it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_SERVER = """\
from tests.teamdb import TeamDb


def test_needs_a_server(team_db: TeamDb) -> None:
    assert team_db.url
"""
NOWHERE = "postgresql://postgres@127.0.0.1:9/postgres"


def run_pytest(folder: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (folder / "test_needs_server.py").write_text(NEEDS_SERVER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRILL_", "PYTEST_"))}
    env |= {"PYTHONPATH": str(ROOT), "DRILL_TEST_PG": NOWHERE} | extra
    argv = [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "-p", "tests.teamdb"]
    return subprocess.run(
        [*argv, "test_needs_server.py"], cwd=folder, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_no_server_skips_with_a_one_line_reason(tmp_path: Path) -> None:
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert f"no PostgreSQL server answers at DRILL_TEST_PG={NOWHERE}" in done.stdout


def test_no_server_fails_when_services_are_required(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, DRILL_REQUIRE_SERVICES="1")
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout  # the fixture fails the test before it runs
    assert "and DRILL_REQUIRE_SERVICES=1 requires it" in done.stdout
