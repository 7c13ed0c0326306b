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
    from drillkit.store.sealcheck import LedgerFinding, SealFinding
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


def verification_line(v: Verdict, *, keyed: bool, seal: SealFinding | None = None) -> str:
    """One record's verdict; in a workspace with a key, a record chained without it says so (a
    reviewer should ask why: it may be older than the key, or rewritten by someone without it).
    With seals: events past the latest seal are counted (`ok, 3 events unsealed`)."""
    unkeyed = ""
    if v.verdict == "unkeyed":
        unkeyed = f" (plain SHA-256, not the workspace key; `--accept-unkeyed {v.run}` if it predates the key)"
    elif keyed and v.chain == "sha256":
        unkeyed = " (plain SHA-256, accepted as older than the workspace key)"
    at = f" at line {v.line}" if v.line is not None else ""
    where = f"{at}: {v.problem}" if v.verdict == "tampered" else ""
    torn = f" (torn tail of {v.torn_bytes} bytes, set aside on the next append)" if v.torn_bytes else ""
    tail = f", {seal.unsealed} events unsealed" if seal and seal.sealed is not None and seal.unsealed else ""
    sealed = f", seal {seal.fingerprint}" if seal and seal.fingerprint and v.verdict != "tampered" else ""
    head = f", head {v.head}" if v.head else ""
    return f"{v.run}: {v.verdict}{tail}{unkeyed}{where}{torn} — {v.events} events{head}{sealed}"


def ledger_line(ledger: LedgerFinding) -> str:
    """The workspace ledger's verdict: its size, and the kept checkpoint it extends."""
    kept = f", extends the kept checkpoint of {ledger.kept}" if ledger.kept is not None and not ledger.problem else ""
    problem = f": {ledger.problem}" if ledger.problem else ""
    return f"ledger: {ledger.verdict}{problem} — {ledger.size} seals{kept}"


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


def forecast_lines(rows: list[dict[str, Any]]) -> str:
    """Below the coverage table: for each playbook with enough history, the forecast odds of
    meeting its tightest target (`drill forecast` gives the whole answer)."""
    found = [row for row in rows if row.get("forecast")]
    if not found:
        return ""
    lines = ["", "forecast odds of meeting the tightest target (from past incidents):"]
    for row in found:
        f = row["forecast"]
        lines.append(
            f"  {row['playbook']}: {f['metric']} within {format_duration(f['target'])} at severity {f['severity']}:"
            f" {f['p']:.0%} (95% interval {f['low']:.0%}–{f['high']:.0%}, {f['runs']} runs)"
        )
    return "\n".join(lines)


def _actions(row: dict[str, object]) -> str:
    """`2 open, 1 overdue`, or `-` with none open."""
    if not row["open_actions"]:
        return "-"
    return f"{row['open_actions']} open, {row['overdue_actions']} overdue"
