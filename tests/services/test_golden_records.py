"""The record bytes a simulation writes for each sample scenario are fixed: a change of layout, of
event types or of the store must not move one byte (the goldens were written before the layers).

Set `DRILL_UPDATE_GOLDEN=1` to rewrite them after a change to the record that is meant."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.engine.test_metrics import invoke

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "records"
SCENARIOS = sorted(path.stem for path in (ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    for folder in ("playbooks", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


@pytest.mark.parametrize(("number", "scenario"), list(enumerate(SCENARIOS)))
def test_a_simulated_sample_writes_the_golden_record(
    samples: Path, number: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fixed_id(playbook: str, clock: object) -> str:
        return f"20261129T080000Z-{playbook}-{number:04x}"

    monkeypatch.setattr("drillkit.services.runs.new_run_id", fixed_id)
    monkeypatch.setattr("drillkit.model.provenance.new_req", lambda: f"{number:016x}")  # random per command
    done = invoke(samples, "simulate", scenario)
    assert done.exit_code in (0, 1), done.output  # the late-ack samples miss targets on purpose
    (record,) = (samples / "logs" / "runs").glob("*.jsonl")
    golden = GOLDEN / f"{scenario}.jsonl"
    if os.environ.get("DRILL_UPDATE_GOLDEN"):
        golden.write_bytes(record.read_bytes())
    assert record.read_bytes() == golden.read_bytes()
