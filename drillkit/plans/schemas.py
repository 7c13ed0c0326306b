"""JSON Schemas for editors, generated from the models: `python -m drillkit.plans.schemas [FOLDER]`.

The sample files point at them with `# yaml-language-server: $schema=../schemas/….json`, so an
editor can complete keys and flag mistakes while typing. The loader stays the authority: the
schemas cannot express cross-references (unknown states, roles, items) or reachability.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from drillkit.model.planfiles import Playbook, Scenario

DRAFT = "https://json-schema.org/draft/2020-12/schema"
MODELS: dict[str, type[BaseModel]] = {"playbook": Playbook, "scenario": Scenario}
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "schemas"


class _StrictKeys(GenerateJsonSchema):
    """Mappings keyed by ids reject keys that break the id rule.

    pydantic writes such mappings as `patternProperties`, which lets a key that does not match
    through unchecked; `propertyNames` plus `additionalProperties` rejects it instead.
    """

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        by_pattern = json_schema.pop("patternProperties", None)
        if by_pattern:
            ((pattern, values),) = by_pattern.items()
            json_schema["propertyNames"] = {**json_schema.get("propertyNames", {}), "pattern": pattern}
            json_schema["additionalProperties"] = values
        return json_schema


def schema_for(name: str) -> dict[str, Any]:
    """The JSON Schema of one file kind (`playbook` or `scenario`)."""
    body = MODELS[name].model_json_schema(by_alias=True, mode="validation", schema_generator=_StrictKeys)
    return {"$schema": DRAFT, "$id": f"{name}.schema.json", **body, "title": f"drillkit {name}"}


def schema_text(name: str) -> str:
    return json.dumps(schema_for(name), indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path = DEFAULT_FOLDER) -> list[Path]:
    """Write `<name>.schema.json` for each file kind into `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MODELS:
        path = folder / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m drillkit.plans.schemas", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER, help="where (default: schemas/)")
    for written_path in write_schemas(parser.parse_args(argv).folder):
        print(written_path)


if __name__ == "__main__":
    main()
