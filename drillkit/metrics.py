"""Measurement from the record alone (SPEC §6): metrics, expectations, breaches, checklist.

`run_document` gives the JSON document every export and `drill simulate --json` share. Times
are drill-clock seconds since the run's start; a system transition caught up late counts from
its `due` time, the moment it took effect.
"""

from __future__ import annotations

from typing import Any

from drillkit.engine import Event, RunState, effective_t
from drillkit.model import Expect, Inject, for_severity


def run_document(events: list[Event], integrity: dict[str, Any]) -> dict[str, Any]:
    rs = RunState.replay(events)
    return {
        "run": _run(rs, events),
        "metrics": metric_rows(rs, events),
        "expectations": expectation_rows(rs, events),
        "breaches": [_breach(e) for e in events if e["event"] == "deadline.breached"],
        "checklist": _checklist(rs),
        "events": events,
        "integrity": integrity,
    }


def _run(rs: RunState, events: list[Event]) -> dict[str, Any]:
    first, last = events[0], events[-1]
    return {
        "id": rs.run,
        "mode": rs.mode,
        "playbook": rs.playbook.playbook,
        "version": rs.playbook.version,
        "scenario": rs.scenario.scenario if rs.scenario else None,
        "title": first.get("title"),
        "severity": rs.severity,
        "participants": rs.participants,
        "started": first["ts"],
        "ended": last["ts"] if rs.ended else None,
        "outcome": rs.outcome,
        "state": rs.state,
    }


def metric_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    breached = {e["metric"] for e in events if e["event"] == "deadline.breached" and e.get("metric")}
    rows = []
    for name, metric in rs.playbook.metrics.items():
        begin = 0.0 if metric.source == "start" else rs.first_entry.get(metric.source)
        end = _reached_at(rs, metric.to)
        value = round(max(0.0, end - begin), 3) if begin is not None and end is not None else None
        target = for_severity(metric.target, rs.severity)
        rows.append(
            {
                "name": name,
                "from": metric.source,
                "to": metric.to,
                "owner": metric.owner,
                "target": target,
                "value": value,
                "verdict": _metric_verdict(target, value, name in breached, rs.ended),
            }
        )
    return rows


def _reached_at(rs: RunState, target: str) -> float | None:
    if target.startswith("check:"):
        done = rs.checks.get(target.removeprefix("check:"))
        return done.t if done else None
    return rs.first_entry.get(target)


def _metric_verdict(target: int | None, value: float | None, breached: bool, ended: bool) -> str:
    if target is None:
        return "unmeasured"
    if value is not None:
        return "met" if value <= target else "missed"
    return "missed" if breached or ended else "pending"


def expectation_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    if rs.scenario is None:
        return []
    return [_expectation(rs, inject, inject.expect, events) for inject in rs.scenario.injects if inject.expect]


def _expectation(rs: RunState, inject: Inject, expect: Expect, events: list[Event]) -> dict[str, Any]:
    due = float(inject.at + expect.within)
    hit = _matching(events, expect, float(inject.at))
    at = effective_t(hit) if hit else None
    if at is not None:
        verdict = "met" if at <= due else "late"
    else:
        verdict = "missed" if rs.ended else "pending"
    return {
        "inject": inject.id,
        "expect": expect.action,
        "within": expect.within,
        "role": expect.role,
        "due": due,
        "at": at,
        "by": hit["actor"] if hit else None,
        "verdict": verdict,
    }


def _matching(events: list[Event], expect: Expect, since: float) -> Event | None:
    """The first matching action at or after the inject, else an earlier one (a check already done)."""
    found = [e for e in events if _is_action(e, expect) and (expect.role is None or e.get("role") == expect.role)]
    after = [e for e in found if effective_t(e) >= since]
    candidates = after or found
    return candidates[0] if candidates else None


def _is_action(event: Event, expect: Expect) -> bool:
    if expect.trigger is not None:
        return bool(event["event"] == "transition" and event["trigger"] == expect.trigger)
    return bool(event["event"] == "check.done" and event["item"] == expect.check)


def _breach(event: Event) -> dict[str, Any]:
    what = f"state:{event['state']}" if event.get("state") else f"metric:{event['metric']}"
    return {
        "what": what,
        "owner": event.get("owner"),
        "assignee": event.get("assignee"),
        "due": event["due"],
        "late_by": event["late_by"],
    }


def _checklist(rs: RunState) -> list[dict[str, Any]]:
    rows = []
    for item, listed_in in rs.playbook.checklist_owner().items():
        done = rs.checks.get(item)
        rows.append(
            {
                "item": item,
                "state": done.state if done else listed_in,
                "done_at": done.t if done else None,
                "by": done.by if done else None,
            }
        )
    return rows


def all_met(document: dict[str, Any]) -> bool:
    """Every metric target and inject expectation met (unmeasured metrics do not count)."""
    metrics_ok = all(str(m["verdict"]) in ("met", "unmeasured") for m in document["metrics"])
    return metrics_ok and all(str(e["verdict"]) == "met" for e in document["expectations"])
