"""The JSON Schemas in schemas/ are current and accept what the loader accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from drillkit.model.planfiles import JSON_ID_PATTERN
from drillkit.model.plans import ID_PATTERN
from drillkit.plans.schemas import MODELS, schema_text, write_schemas

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    *(("playbook", p) for p in sorted((ROOT / "playbooks").glob("*.yaml"))),
    *(("scenario", p) for p in sorted((ROOT / "scenarios").glob("*.yaml"))),
]


def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(kind: str, document: dict[str, Any]) -> list[str]:
    return [error.message for error in _validator(kind).iter_errors(document)]


@pytest.mark.parametrize("kind", list(MODELS))
def test_committed_schema_is_current(kind: str) -> None:
    committed = (ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), "schemas/ is stale: run `python -m drillkit.plans.schemas`"


def test_module_writes_both_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "drillkit.plans.schemas", str(tmp_path)], check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["playbook.schema.json", "scenario.schema.json"]
    assert [p.name for p in write_schemas(tmp_path / "again")] == ["playbook.schema.json", "scenario.schema.json"]


def test_module_help_is_help_not_a_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "drillkit.plans.schemas", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("usage: python -m drillkit.plans.schemas")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kind", "path"), SAMPLES, ids=[p.name for _, p in SAMPLES])
def test_every_sample_passes_its_schema(kind: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# yaml-language-server: $schema=../schemas/{kind}.schema.json\n")
    assert _errors(kind, yaml.safe_load(text)) == []


def _playbook(**changes: Any) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "playbooks" / "core-network-outage.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    document.update(changes)
    return document


@pytest.mark.parametrize("duration", ["90s", "15m", "1h30m", "2d", "1d2h3m4s"])
def test_duration_forms_pass(duration: str) -> None:
    assert _errors("playbook", _playbook(exercise_every=duration)) == []


@pytest.mark.parametrize("duration", [90, "90", "1:30", "", "m", "1.5h", "15 m"])
def test_durations_without_units_fail(duration: object) -> None:
    assert _errors("playbook", _playbook(exercise_every=duration))


def test_per_severity_duration_takes_a_duration_or_a_mapping() -> None:
    states = _playbook()["states"]
    deadline: object
    for deadline in ("10m", {"I": "10m", "default": "30m"}, {"值班": "1h"}):
        states["triage"]["deadline"] = deadline
        assert _errors("playbook", _playbook(states=states)) == []
    for deadline in (10, {"I": 10}, {"I": "ten"}, {"bad key": "10m"}, ["10m"]):
        states["triage"]["deadline"] = deadline
        assert _errors("playbook", _playbook(states=states)), deadline


def test_transition_from_takes_one_state_or_a_list() -> None:
    transitions = _playbook()["transitions"]
    transitions[0]["from"] = "detected"
    transitions[1]["from"] = ["detected", "triage"]
    assert _errors("playbook", _playbook(transitions=transitions)) == []
    transitions[1]["from"] = ["detected", "detected"]
    assert _errors("playbook", _playbook(transitions=transitions))


def test_unknown_keys_and_bad_ids_fail() -> None:
    assert _errors("playbook", _playbook(descripton="typo"))
    assert _errors("playbook", _playbook(roles={"_lead": "leading underscore"}))
    assert _errors("playbook", _playbook(roles={"on call": "space"}))


@pytest.mark.parametrize("value", ["值班长", "研判", "lead", "a-b_c", "3rd", "Ünïcode", "𠀀字"])
def test_json_id_pattern_accepts_valid_ids(value: str) -> None:
    assert re.match(ID_PATTERN, value)
    assert re.match(JSON_ID_PATTERN, value)


@pytest.mark.parametrize("value", ["", "_x", "-x", "a b", "a.b", "a/b", "a:b", "check:x", "a$"])
def test_json_id_pattern_rejects_invalid_ascii_ids(value: str) -> None:
    assert not re.match(ID_PATTERN, value)
    assert not re.match(JSON_ID_PATTERN, value)
