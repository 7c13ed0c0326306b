"""The benchmark harness runs end to end: `python -m benchmarks --quick --json` reports every figure
with a positive value and a floor measured in the same run. Budgets are not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXPECTED = (
    "drill act (wall)",
    "drill --help (wall)",
    "TAB completion `drill ac`",
    "drill act on ",
    "drill act on a drill (wall)",
    "fsync'd appends",
    "fsync'd appends, sealing (conductor with the key)",
    "drill abort, sealing the run it ends (wall)",
    "drill report, ",
    "drill report repeated",
    "drill verify --all throughput",
    "drill verify --all throughput, every run sealed",
    "drill validate, ",
    "simulations of a 20-inject scenario",
    "drill forecast, ",
    "conductor 5 runs: inject lateness p99",
    "conductor 10 runs: inject lateness p99",
    "conductor 10 runs: breach lateness p99",
    "conductor 10 runs: peak RSS",
    "team store appends",
    "drill note, team store",
    "drill act, team store",
    "board latency across connections p99",
    "scheduler takeover after SIGKILL",
    "scheduler takeover of a stopped scheduler",
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@pytest.mark.slow
def test_every_figure_is_reported(document: dict[str, Any]) -> None:
    names = [f["name"] for f in document["figures"]]
    for expected in EXPECTED:
        assert any(name.startswith(expected) for name in names), (expected, names)
    assert document["quick"] is True
    assert {f["holds"] for f in document["figures"]} == {None}  # tiny sizes: no verdict
    assert document["machine"]["cpus"]


@pytest.mark.slow
def test_every_figure_has_a_positive_value_and_a_floor(document: dict[str, Any]) -> None:
    for figure in document["figures"]:
        if figure["value"] is None:  # only a command this build lacks may be "n/a", and it says so
            assert figure["note"].startswith("n/a"), figure
            continue
        assert figure["floor"] is not None, figure
        assert figure["floor"] > 0, figure
        assert figure["floor_name"], figure
        assert figure["ratio"] is not None, figure
        is_lateness = "lateness" in figure["name"]  # a run may be recorded right on time: 0 ms late
        assert figure["value"] > 0 or (is_lateness and figure["value"] == 0), figure
        assert figure["holds"] in (True, False, None)


def test_team_store_figures_without_a_server_say_skipped_and_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import team

    monkeypatch.setenv("DRILL_BENCH_PG", "postgresql://postgres@127.0.0.1:9/postgres")
    figures = team.team_figures(1, 1, 1, 1.0)
    assert [f.name for f in figures] == list(team.NAMES)
    assert {f.value for f in figures} == {None}
    assert all(f.note.startswith("n/a, skipped: no PostgreSQL server answers at") for f in figures)
    assert capsys.readouterr().err.startswith(
        "skipped: no PostgreSQL server answers at postgresql://postgres@127.0.0.1:9"
    )
