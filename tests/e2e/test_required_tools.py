"""`require_tool` as a developer and CI meet it: a test that needs a missing system tool is skipped
with a one-line reason, and fails instead under `DRILL_REQUIRE_SERVICES=1`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_DOT = """\
from tests.conftest import require_tool


def test_needs_graphviz() -> None:
    assert require_tool("dot", why="Graphviz").endswith("dot")
"""


def run_pytest(folder: Path, path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess on a tiny test that needs `dot`, with `path` as its only PATH and the
    suite's conftest loaded as a plugin."""
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (folder / "test_needs_dot.py").write_text(NEEDS_DOT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRILL_", "PYTEST_"))}
    env |= {"PATH": str(path), "PYTHONPATH": str(ROOT)} | extra
    plugins = ["-p", "no:cacheprovider", "-p", "tests.conftest"]
    argv = [sys.executable, "-m", "pytest", "-q", "-ra", *plugins, "test_needs_dot.py"]
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_missing_tool_skips_with_a_one_line_reason(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, tmp_path / "empty")
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "SKIPPED [1] test_needs_dot.py:4: dot is not installed (Graphviz)\n" in done.stdout


def test_a_missing_tool_fails_when_services_are_required(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, tmp_path / "empty", DRILL_REQUIRE_SERVICES="1")
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout
    assert "dot is not installed (Graphviz), and DRILL_REQUIRE_SERVICES=1 requires it" in done.stdout


def test_a_tool_on_path_lets_the_test_run(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "dot").write_text("#!/bin/sh\n", encoding="utf-8")
    (tools / "dot").chmod(0o755)
    done = run_pytest(tmp_path, tools, DRILL_REQUIRE_SERVICES="1")
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout
