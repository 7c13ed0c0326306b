"""Corrective actions (SPEC §10): their state from the ledger, and the decisions on them.

Pure: the ledger's events and, for a close, the retest run's events come in; drafts or a
`Rejected` that names what is missing go out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from drillkit.engine.evaluation import scores_pass
from drillkit.engine.metrics import run_document
from drillkit.engine.replay import RunState
from drillkit.model.errors import RecordError, Rejected, UsageError
from drillkit.model.events import ActionEvent
from drillkit.store.port import Event

STATUSES = ("open", "in-progress")
_ACTION_ID = re.compile(r"A-[1-9][0-9]*")


@dataclass
class Action:
    id: str
    title: str
    from_run: str
    objective: str | None
    owner_role: str
    owner: str
    due: str
    capability: str | None
    opened: str  # when, UTC
    status: str = "open"
    retest: str | None = None
    closed: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def playbook(self) -> str:
        """The playbook id inside the run id `YYYYMMDDTHHMMSSZ-<playbook>-<4 hex>`."""
        return self.from_run.split("-", 1)[1].rsplit("-", 1)[0]

    def overdue(self, today: date) -> bool:
        return self.status != "closed" and date.fromisoformat(self.due) < today

    def document(self, today: date) -> dict[str, Any]:
        found = {k: v for k, v in self.__dict__.items() if k != "id"}
        return {"action": self.id, **found, "playbook": self.playbook, "overdue": self.overdue(today)}


@dataclass(frozen=True)
class Period:
    """A report's period as RFC 3339 UTC text: `since` inclusive, `until` exclusive (None: open),
    and `end`, the instant overdue actions are counted at (the period's end, or now if sooner)."""

    since: str | None
    until: str | None
    end: str

    def holds(self, when: str) -> bool:
        return (self.since is None or when >= self.since) and (self.until is None or when < self.until)


def period_figures(actions: list[Action], period: Period) -> dict[str, Any]:
    """`drill report`'s corrective actions, overall and for each playbook that has any to count:
    opened and closed within the period, and overdue at its end (`as_of`, the day they count at)."""
    playbooks = {
        playbook: _counts([a for a in actions if a.playbook == playbook], period)
        for playbook in sorted({a.playbook for a in actions})
    }
    return {
        "as_of": period.end[:10],
        "overall": _counts(actions, period),
        "playbooks": {playbook: counts for playbook, counts in playbooks.items() if any(counts.values())},
    }


def _counts(actions: list[Action], period: Period) -> dict[str, int]:
    return {
        "opened": sum(period.holds(a.opened) for a in actions),
        "closed": sum(a.closed is not None and period.holds(a.closed) for a in actions),
        "overdue": sum(_overdue_at(a, period.end) for a in actions),
    }


def _overdue_at(action: Action, end: str) -> bool:
    """Open at `end` (opened before it and not closed by then) and due before that day (UTC), as
    `Action.overdue` judges it on that day."""
    still_open = action.opened < end and (action.closed is None or action.closed >= end)
    return still_open and action.due < end[:10]


def replay_actions(events: list[Event]) -> dict[str, Action]:
    """The actions as the ledger's events leave them; a line edited out of shape (it still parses
    and its chain may have been recomputed) is a RecordError naming its line, never half-read."""
    actions: dict[str, Action] = {}
    for line, event in enumerate(events, start=1):
        try:
            _take(actions, event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RecordError(
                f"line {line} of actions.jsonl cannot be read as an action: {detail} (see drill verify)"
            ) from None
    return actions


def _take(actions: dict[str, Action], event: Event) -> None:
    kind, found = event["event"], actions.get(event.get("action") or "")
    if kind == ActionEvent.OPENED:
        actions[event["action"]] = _opened(event)
    elif kind == ActionEvent.UPDATED and found is not None:
        found.status = event["status"]
        found.notes.append({"ts": event["ts"], "by": event["actor"], "status": event["status"], "note": event["note"]})
    elif kind == ActionEvent.CLOSED and found is not None:
        found.status, found.retest, found.closed = "closed", event["retest"], _text(event, "ts")


def _opened(event: Event) -> Action:
    return Action(
        id=_text(event, "action"),
        title=_text(event, "title"),
        from_run=_text(event, "from_run"),
        objective=event["objective"],
        owner_role=_text(event, "owner_role"),
        owner=_text(event, "owner"),
        due=_day(event["due"]),
        capability=event["capability"],
        opened=_text(event, "ts"),
    )


def _text(event: Event, key: str) -> str:
    value = event[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _day(value: object) -> str:
    """A due date as the ledger keeps it (YYYY-MM-DD): compared as text with other days."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"due {value!r} is not a date (YYYY-MM-DD)")
    date.fromisoformat(value)
    return value


def known(actions: dict[str, Action], action_id: str) -> Action:
    if not _ACTION_ID.fullmatch(action_id):
        raise UsageError(f"{action_id!r} is not an action id; action ids look like A-1 (see `drill action list`)")
    if action_id not in actions:
        raise Rejected(f"no action {action_id} (see `drill action list`)")
    return actions[action_id]


def parse_due(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise UsageError(f"--due {text!r}: write a date as YYYY-MM-DD, e.g. 2027-01-15")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise UsageError(f"--due {text!r}: no such day ({exc})") from None


def open_draft(actions: dict[str, Action], rs: RunState, opened: dict[str, Any], by: str) -> Event:
    """`action.opened` for a new action from run `rs` (its objective, if named, must be the scenario's)."""
    objective, role = opened["objective"], opened["owner_role"]
    objectives = list(rs.scenario.objectives) if rs.scenario else []
    if objective is not None and objective not in objectives:
        raise Rejected(f"run {rs.run} has no objective {objective!r}; objectives: {', '.join(objectives) or '(none)'}")
    if role not in rs.playbook.roles:
        raise UsageError(
            f"--owner: unknown role {role!r}; roles of {rs.playbook.playbook}: {', '.join(rs.playbook.roles)}"
        )
    if not opened["title"].strip():
        raise UsageError("--title needs some text")
    return {"event": ActionEvent.OPENED, "actor": by, "action": f"A-{len(actions) + 1}", **opened}


def update_draft(action: Action, status: str, note: str | None, by: str) -> Event:
    if action.status == "closed":
        raise Rejected(f"action {action.id} is closed (retest {action.retest}); open a new action instead")
    if status not in STATUSES:
        raise UsageError(f"--status {status!r}: use open or in-progress (an action closes with `drill action close`)")
    return {"event": ActionEvent.UPDATED, "actor": by, "action": action.id, "status": status, "note": note}


def close_draft(action: Action, retest: list[Event], by: str) -> Event:
    """An action closes only on a retest (SPEC §10): a drill of the same playbook, started after
    the action was opened, in which its objective scores P or S."""
    if action.status == "closed":
        raise Rejected(f"action {action.id} is already closed (retest {action.retest})")
    rs = RunState.replay(retest)
    _check_retest(action, rs, retest)
    return {"event": ActionEvent.CLOSED, "actor": by, "action": action.id, "retest": rs.run}


def _check_retest(action: Action, rs: RunState, events: list[Event]) -> None:
    refused = f"cannot close {action.id} on {rs.run}"
    if rs.mode != "drill":
        raise Rejected(f"{refused}: a retest must be a drill (mode drill), not a {rs.mode}")
    if rs.playbook.playbook != action.playbook:
        raise Rejected(f"{refused}: a retest must be a drill of {action.playbook}, not of {rs.playbook.playbook}")
    if events[0]["ts"] <= action.opened:
        raise Rejected(f"{refused}: it started before the action was opened ({action.opened})")
    found = run_document(events, {}).get("evaluation")
    if found is None or rs.scenario is None:
        raise Rejected(f"{refused}: the retest has no objectives to score")
    _check_scores(action, refused, found, rs)


def _check_scores(action: Action, refused: str, found: dict[str, Any], rs: RunState) -> None:
    assert rs.scenario is not None
    scoring = rs.scenario.scored
    if action.objective is None:
        if found["score"] is None or found["score"] < scoring.value("S"):
            raise Rejected(f"{refused}: its score is {found['score']}, below {scoring.value('S')} (S)")
        return
    rows = {o["id"]: o for o in found["objectives"]}
    row = rows.get(action.objective)
    if row is None:
        raise Rejected(f"{refused}: the retest has no objective {action.objective!r}")
    if not scores_pass(row, scoring):
        points = "not rated" if row["points"] is None else f"{row['points']:g} ({row['how']})"
        raise Rejected(
            f"{refused}: objective {action.objective} scored {points}; it needs P or S (at least {scoring.value('S')})"
        )
