"""`drill replay` (SPEC §11): a real incident's record made into a drill scenario's YAML.

The scenario is built by `engine/recast` from the record alone; here the run is found, the id
settled, the text written out and read back by `drill validate`'s own rules against the
workspace's playbook, so that a file that would not validate is never handed over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from drillkit.config.workspace import Workspace
from drillkit.engine.recast import Recast, recast
from drillkit.engine.replay import RunState
from drillkit.model.errors import DrillError, RecordError, UsageError
from drillkit.model.plans import FILE_ID_PATTERN
from drillkit.model.redact import redactor_for
from drillkit.plans.library import Plans
from drillkit.render.runview import integrity
from drillkit.services.review import VERIFIED
from drillkit.services.runnames import resolve_run
from drillkit.store.port import Event
from drillkit.store.stores import open_store

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/scenario.schema.json"


@dataclass(frozen=True)
class Replayed:
    """The scenario's YAML, its id, and what its maker should know: the actions it leaves out (by
    people who held no role), a plan that has changed since the incident."""

    text: str
    scenario: str
    warnings: list[str]


def replay(ws: Workspace, run: str, *, output: Path | None, scenario_id: str | None, title: str | None) -> Replayed:
    run_id = resolve_run(ws, run)
    wanted = _scenario_id(scenario_id, output, run_id)
    _verified(ws, run_id)
    events = open_store(ws).read(run_id)
    made = recast(events, Recast(scenario=wanted, title=title, mask=redactor_for(ws.config().redact)))
    text = _yaml(made.data)
    _validates(ws, text, output or ws.scenarios / f"{wanted}.yaml")
    left_out = [f"left out of the script: {action}" for action in made.left_out]
    return Replayed(text, wanted, _plan_changed(ws, events) + left_out)


def _verified(ws: Workspace, run_id: str) -> None:
    """The record as `drill verify` judges it (seals included): a drill made of a record that was
    edited would carry the edit, under a `source` that names the incident as if it were evidence."""
    verdict = integrity(ws, run_id)["verdict"]
    if verdict not in VERIFIED:
        why = "is not chained with the workspace key" if verdict == "unkeyed" else "fails verification"
        raise RecordError(
            f"the record of {run_id} {why} (see `drill verify {run_id}`):"
            " a drill is made only of a record that verifies"
        )


def _plan_changed(ws: Workspace, events: list[Event]) -> list[str]:
    """A playbook changed since the incident: the drill runs on today's plan, whose deadlines and
    targets may judge the same actions otherwise."""
    then = RunState.begin(events[0]).playbook
    try:
        now = Plans(ws).playbook(then.playbook)
    except DrillError:
        return []  # `_validates` has named what is wrong with it
    if now == then:
        return []
    return [
        f"playbook {then.playbook} has changed since the incident (version {then.version} then, {now.version} now):"
        " a simulation judges the replayed actions by the plan as it is now"
    ]


def _scenario_id(given: str | None, output: Path | None, run_id: str) -> str:
    """`--id`, else the stem of `-o`, else `replay-` and the run's last four hex digits; it must be a
    file id, and the file's stem when both are named (`drill validate` holds a scenario to that)."""
    stem = output.stem if output is not None else None
    wanted = given or stem or f"replay-{run_id[-4:]}"
    if not re.match(FILE_ID_PATTERN, wanted) or len(wanted) > 64:
        what = "--id" if given else "-o FILE's name"
        raise UsageError(f"{what} {wanted!r} is not a scenario id: use lowercase letters, digits and '-' (at most 64)")
    if given and stem is not None and given != stem:
        raise UsageError(f"--id {given!r} must equal the file name {stem!r} of -o (drill validate holds it to that)")
    return wanted


def _yaml(data: dict[str, Any]) -> str:
    body = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=None
    )  # one line each
    source = data["source"]["run"]
    return f"{SCHEMA_LINE}\n# Replayed from incident {source} by `drill replay`.\n{body}"


def _validates(ws: Workspace, text: str, path: Path) -> None:
    """The scenario as `drill validate` will read it; a problem (a playbook changed since the
    incident) is refused in one line, and nothing is written."""
    problems = Plans(ws).scenario_text_problems(text, path)
    if problems:
        raise UsageError(
            f"the replayed scenario would not validate against the workspace's playbook: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
