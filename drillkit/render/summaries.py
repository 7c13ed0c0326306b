"""Short terminal answers: a run's verdicts, a record's verification, the playbook and coverage tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drillkit.engine.metrics import unallowed_breaches
from drillkit.model.clock import parse_utc
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.timefmt import local
from drillkit.render.labels import drill_mark
from drillkit.render.table import table

if TYPE_CHECKING:
    from drillkit.store.verify import Verdict


def verdict_lines(document: dict[str, Any]) -> str:
    """A run's outcome, then each metric, expectation and breach on its own line, each verdict
    with its reason."""
    run = document["run"]
    lines = [f"{drill_mark(run['mode'])}{run['id']}: {run['outcome'] or 'open'} in state {run['state']}"]
    for metric in document["metrics"]:
        value = format_duration(metric["value"]) if metric["value"] is not None else "not reached"
        target = format_duration(metric["target"]) if metric["target"] is not None else "none"
        lines.append(f"  metric {metric['name']}: {value} (target {target}): {metric['why']}")
    for expectation in document["expectations"]:
        lines.append(f"  inject {expectation['inject']} expects {expectation['expect']}: {expectation['why']}")
    unallowed = unallowed_breaches(document)
    for breach in document["breaches"]:
        lines.append(
            f"  breach {breach['what']} due {format_clock(breach['due'])}: owner {breach['owner'] or '-'}"
            f" ({breach['assignee'] or 'unassigned'})"
            + ("" if breach["what"] in unallowed else ": allowed by the scenario")
        )
    return "\n".join(lines)


def verification_line(v: Verdict, *, keyed: bool) -> str:
    """One record's verdict; in a workspace with a key, a record chained without it says so (a
    reviewer should ask why: it may be older than the key, or rewritten by someone without it)."""
    unkeyed = " (plain SHA-256, not the workspace key)" if keyed and v.chain == "sha256" else ""
    where = f" at line {v.line}: {v.problem}" if v.verdict == "tampered" else ""
    torn = f" (torn tail of {v.torn_bytes} bytes, set aside on the next append)" if v.torn_bytes else ""
    return f"{v.run}: {v.verdict}{unkeyed}{where}{torn} — {v.events} events" + (f", head {v.head}" if v.head else "")


def _when(value: object, zone: str) -> str:
    return local(parse_utc(str(value)), zone) if value else "-"


def playbooks_table(rows: list[dict[str, Any]], zone: str) -> str:
    return table(
        ["id", "title", "kind", "version", "last drill", "next drill"],
        [
            [r["id"], r["title"], r["kind"], r["version"], _when(r["last_drill"], zone), _when(r["next_drill"], zone)]
            for r in rows
        ],
    )


def coverage_table(rows: list[dict[str, object]], zone: str) -> str:
    return table(
        ["playbook", "every", "last drill", "due by", "next scheduled", "status", "actions"],
        [
            [
                row["playbook"],
                format_duration(float(str(row["exercise_every"]))) if row["exercise_every"] else "-",
                _when(row["last_drill"], zone),
                _when(row["due_by"], zone),
                _when(row["next_drill"], zone),
                row["status"],
                _actions(row),
            ]
            for row in rows
        ],
    )


def _actions(row: dict[str, object]) -> str:
    """`2 open, 1 overdue`, or `-` with none open."""
    if not row["open_actions"]:
        return "-"
    return f"{row['open_actions']} open, {row['overdue_actions']} overdue"
