"""The real incident beside a drill made from it (SPEC §11): each metric's value and verdict and
the time in each state, in the incident and in the drill. Pure: both records in, rows out."""

from __future__ import annotations

from typing import Any

from drillkit.engine.metrics import run_document, state_times
from drillkit.store.port import Event


def beside_source(document: dict[str, Any], source: dict[str, str], real: list[Event] | None) -> dict[str, Any]:
    """The `source` part of a replayed drill's document: the incident named, and — when its record
    is at hand (`real`) — its times beside the drill's. `found: false` says it is not."""
    named = {"run": source["run"], "head": source["head"]}
    if real is None:
        return {**named, "found": False, "metrics": [], "states": []}
    incident = run_document(real, {})
    return {
        **named,
        "found": True,
        "metrics": _metrics(incident["metrics"], document["metrics"]),
        "states": _states(state_times(real), state_times(document["events"])),
    }


def _metrics(real: list[dict[str, Any]], drill: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {row["name"]: row for row in real}
    return [
        {
            "name": row["name"],
            "target": row["target"],
            "real": by_name[row["name"]]["value"] if row["name"] in by_name else None,
            "real_verdict": by_name[row["name"]]["verdict"] if row["name"] in by_name else None,
            "drill": row["value"],
            "drill_verdict": row["verdict"],
        }
        for row in drill
    ]


def _states(real: dict[str, float], drill: dict[str, float]) -> list[dict[str, Any]]:
    order = list(drill) + [state for state in real if state not in drill]
    rows = [{"state": state, "real": real.get(state), "drill": drill.get(state)} for state in order]
    return [row for row in rows if row["real"] or row["drill"]]  # a final state, entered at the end, took no time
