"""The import contract (pyproject's `[tool.importlinter]`) holds, and it bites: a lower layer
that imports a higher one breaks it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root)},
    )


def test_the_layers_hold_in_the_tree() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_model_module_importing_a_service_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "drillkit", tmp_path / "drillkit", ignore=shutil.ignore_patterns("__pycache__", "samples"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clock = tmp_path / "drillkit" / "model" / "clock.py"
    clock.write_text(clock.read_text(encoding="utf-8") + "\nfrom drillkit.services import runs  # upward\n")
    done = _lint(tmp_path)
    assert done.returncode == 1
    assert "drillkit.model.clock -> drillkit.services.runs" in done.stdout


def test_event_names_are_spelled_only_in_the_model() -> None:
    """Every other layer names an event through `EventType`, so a renamed event is one change."""
    spelled = re.compile(r'"(run\.started|transition)"')
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "drillkit").rglob("*.py"))
        if path.parent.name != "model"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if spelled.search(line)
    ]
    assert outside == []
