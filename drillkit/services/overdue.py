"""Overdue corrective actions notified by the active scheduler (SPEC §10): at most once a day per
action. The claim is an `action.overdue` line in the actions' ledger, appended under its lock
only when none exists for that action and day, so of two schedulers only the one whose append
wrote the claim sends; each delivery is recorded after it (`notify.sent` / `notify.failed`, `of`
the claim's seq)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from drillkit.config.notifiers import Notifier
from drillkit.config.workspace import Workspace
from drillkit.engine.corrective import Action, replay_actions
from drillkit.model.clock import Clock
from drillkit.model.events import ActionEvent, EventType
from drillkit.notify.payloads import Message
from drillkit.notify.senders import Outcome, deliver
from drillkit.store.port import ActionLedger, Event
from drillkit.store.stores import open_ledger


def notify_overdue(ws: Workspace, clock: Clock, notifiers: Sequence[Notifier]) -> int:
    """Claim and send today's notices of overdue actions; how many were claimed."""
    wanted = [n for n in notifiers if ActionEvent.OVERDUE in n.events]
    if not wanted:
        return 0
    ledger = open_ledger(ws)
    if not ledger.exists():
        return 0
    claims = ledger.append(lambda events, now: _claims(events, now.date()), clock)
    for claim in claims:
        for notifier in wanted:
            _record(ledger, clock, _outcome(notifier.name, claim, deliver(notifier, _message(claim), clock)))
    return len(claims)


def _record(ledger: ActionLedger, clock: Clock, outcome: Event) -> None:
    ledger.append(lambda _events, _now: [outcome], clock)


def _claims(events: list[Event], today: date) -> list[Event]:
    claimed = {(e["action"], e["day"]) for e in events if e["event"] == ActionEvent.OVERDUE}
    day = today.isoformat()
    return [_claim(action, day) for action in replay_actions(events).values() if _owes(action, today, claimed)]


def _owes(action: Action, today: date, claimed: set[tuple[str, str]]) -> bool:
    return action.overdue(today) and (action.id, today.isoformat()) not in claimed


def _claim(action: Action, day: str) -> Event:
    return {
        "event": ActionEvent.OVERDUE,
        "action": action.id,
        "day": day,
        "due": action.due,
        "title": action.title,
        "owner_role": action.owner_role,
        "owner": action.owner,
        "from_run": action.from_run,
    }


def _message(claim: Event) -> Message:
    return Message(
        key=f"actions:{claim['seq']}",
        headline=f"Corrective action {claim['action']} overdue / 整改项逾期: {claim['title']}",
        lines=(
            f"Due: {claim['due']} · owner {claim['owner_role']}={claim['owner']}",
            f"From: {claim['from_run']}",
            f"Close it with: drill action close {claim['action']} --retest RUN",
        ),
        event=claim,
    )


def _outcome(notifier: str, claim: Event, outcome: Outcome) -> Event:
    kind = EventType.NOTIFY_SENT if outcome.ok else EventType.NOTIFY_FAILED
    fields = {"notifier": notifier, "of": claim["seq"], "attempts": outcome.attempts, "error": outcome.error}
    return {"event": kind, "action": claim["action"], **fields}
