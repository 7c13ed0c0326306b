"""Exercise coverage (`drill coverage`): for every playbook, its last drill (from the records),
its next scheduled drill, and whether it is overdue by its `exercise_every`.

A playbook with `exercise_every` that has never been drilled is overdue. Simulations exercise
the plan, not the people, so only `mode: drill` runs count as drills.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, format_utc, parse_utc
from drillkit.model.errors import InvalidFile, RecordError
from drillkit.model.plans import Playbook
from drillkit.plans.library import Plans

if TYPE_CHECKING:
    from drillkit.services.views import Tell
    from drillkit.store.index import RunSummary


def coverage(ws: Workspace, clock: Clock, tell: Tell) -> list[dict[str, Any]]:
    """One row per playbook file, in id order, with its odds when history allows; invalid
    playbooks are listed as such. Records that cannot be read as runs, and schedules that cannot
    be read, are named through `tell`."""
    from drillkit.services.history import last_drills, listed_runs, next_drills

    summaries = listed_runs(ws, tell)
    plans, last, upcoming, now = Plans(ws), last_drills(summaries), next_drills(ws, tell), clock.now()
    rows = []
    for playbook_id in plans.playbook_ids():
        try:
            pb = plans.playbook(playbook_id)
        except InvalidFile:
            rows.append(_invalid(playbook_id))
            continue
        rows.append(_row(pb, last.get(pb.playbook), upcoming.get(pb.playbook), now))
    _add_forecasts(ws, rows, summaries, tell)
    return _with_actions(ws, rows, now)


def _with_actions(ws: Workspace, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Each playbook's open and overdue corrective actions (SPEC §10)."""
    from drillkit.engine.corrective import replay_actions
    from drillkit.store.stores import open_ledger

    found = [a for a in replay_actions(open_ledger(ws).read()).values() if a.status != "closed"]
    for row in rows:
        mine = [a for a in found if a.playbook == row["playbook"]]
        row["open_actions"] = len(mine)
        row["overdue_actions"] = sum(a.overdue(now.date()) for a in mine)
    return rows


FORECAST_RUNS = 20_000  # simulated runs per playbook: coverage wants the rough odds, quickly


def _add_forecasts(ws: Workspace, rows: list[dict[str, Any]], summaries: list[RunSummary], tell: Tell) -> None:
    """Give each valid row `forecast`: for a playbook with enough resolved incidents (SPEC §11), the
    forecast odds of meeting its tightest target at the severity most of them had; else None. A
    past incident the forecast refuses (a line edited by hand) leaves that playbook without odds,
    said through `tell`: the odds are an extra, the coverage table is still the answer."""
    from collections import Counter

    resolved = Counter(s.playbook for s in summaries if s.mode == "incident" and s.outcome == "resolved")
    plans = Plans(ws)
    for row in rows:
        row["forecast"] = None
        if row["status"] != "invalid" and resolved[row["playbook"]] >= _enough():
            try:
                row["forecast"] = _tightest_odds(ws, plans.playbook(row["playbook"]), summaries, tell)
            except RecordError as err:
                tell(f"drill: {err}")


def _enough() -> int:
    from drillkit.engine.forecast import ENOUGH

    return ENOUGH


def _tightest_odds(ws: Workspace, pb: Playbook, summaries: list[RunSummary], tell: Tell) -> dict[str, Any] | None:
    from collections import Counter

    from drillkit.engine import forecast as engine
    from drillkit.services.forecast import past_runs

    history = past_runs(ws, summaries, pb, since=None, include_drills=False, tell=tell)
    by_severity = Counter(run.severity for run in history)
    severity = max(pb.severities, key=lambda sid: by_severity[sid])  # ties: the most severe, listed first
    targets = {name: pb.target(name, severity) for name in pb.metrics}
    timed = {name: target for name, target in targets.items() if target is not None}
    if not timed:
        return None
    tightest = min(timed, key=lambda name: timed[name])
    basis = engine.choose_basis(history, severity)
    answer = engine.forecast(pb, severity, basis, runs=FORECAST_RUNS, seed=0)
    row = next(m for m in answer["plan"]["metrics"] if m["name"] == tightest)
    return {"metric": tightest, "severity": severity, "runs": len(basis.runs), **row}


def coverage_exit(rows: list[dict[str, Any]]) -> int:
    """1 when a playbook is overdue for a drill or cannot be read: coverage has a gap."""
    return 1 if any(row["overdue"] or row["status"] == "invalid" for row in rows) else 0


def _row(pb: Playbook, last: str | None, upcoming: str | None, now: datetime) -> dict[str, Any]:
    due_by = _due_by(pb, last)
    overdue = pb.exercise_every is not None and (due_by is None or parse_utc(due_by) < now)
    return {
        "playbook": pb.playbook,
        "title": pb.title,
        "exercise_every": pb.exercise_every,
        "last_drill": last,
        "next_drill": upcoming,
        "due_by": due_by,
        "overdue": overdue,
        "status": _status(pb, last, overdue),
    }


def _due_by(pb: Playbook, last: str | None) -> str | None:
    """When the next drill is due: the last drill plus `exercise_every`."""
    if pb.exercise_every is None or last is None:
        return None
    return format_utc(parse_utc(last) + timedelta(seconds=pb.exercise_every))


def _status(pb: Playbook, last: str | None, overdue: bool) -> str:
    if pb.exercise_every is None:
        return "no requirement"
    if last is None:
        return "never drilled"
    return "overdue" if overdue else "ok"


def _invalid(playbook_id: str) -> dict[str, Any]:
    return {
        "playbook": playbook_id,
        "title": None,
        "exercise_every": None,
        "last_drill": None,
        "next_drill": None,
        "due_by": None,
        "overdue": False,
        "status": "invalid",
    }
