"""What each event of a run says, written once for every output (SPEC §4, §6, §7).

Each event type has two forms: a `detail`, a few words that follow the common fields in the
terminal, the timeline, the CSV and the reports; and a `headline`, a sentence that stands alone
at the top of a notification. Detail forms read fields strictly (the record is whole when it is
rendered); headline forms use `get`, because a notifier must still say something about an event
that lacks a field. The words are English in both report languages: `--lang zh` translates
the headings and labels around them (`labels.py`), as the exports have always shown them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from drillkit.model.durations import format_clock, format_duration
from drillkit.model.events import EventType
from drillkit.store.files import effective_t
from drillkit.store.port import Event

Say = Callable[[Event], str]


@dataclass(frozen=True)
class EventText:
    """The two forms of one event type; no headline: the notification names the event type."""

    detail: Say
    headline: Say | None = None


def acting_role(event: Event) -> str | None:
    """The role the actor acted in. None for `assigned`, whose `role` is the role handed over
    (SPEC §4), not the actor's."""
    return None if event.get("event") == EventType.ASSIGNED else event.get("role")


def detail(event: Event) -> str:
    """What happened, in a few words, without the common fields; a system transition or a time
    limit written down late says when it took effect."""
    text = EVENT_TEXT[event["event"]].detail(event) if event["event"] in EVENT_TEXT else ""
    if effective_t(event) != float(event["t"]):
        text += f" (took effect at {format_clock(effective_t(event))})"
    return text


def headline(event: Event) -> str:
    """The event as one sentence, for a notification."""
    kind = str(event.get("event", "event"))
    text = EVENT_TEXT.get(kind)
    return text.headline(event) if text and text.headline else kind


def _with_note(event: Event, separator: str) -> str:
    return f"{separator}{event['note']}" if event.get("note") else ""


def _started_detail(e: Event) -> str:
    plan = e["playbook"]
    return f"{e['mode']} of {plan['playbook']} v{plan['version']}, severity {e['severity']}, state {e['state']}"


def _started_headline(e: Event) -> str:
    return f"Run opened: {e.get('title', '')}, severity {e.get('severity')}, state {e.get('state')}"


def _late(e: Event) -> str:
    return " (late)" if e.get("late") else ""


def _inject_detail(e: Event) -> str:
    return f"[{e['inject']}] {e['message']}{_late(e)}"


def _inject_headline(e: Event) -> str:
    return f"Inject {e.get('inject')}{_late(e)}: {e.get('message', '')}"


def _transition_detail(e: Event) -> str:
    return f"{e['trigger']}: {e['from']} -> {e['to']}{_with_note(e, ' — ')}"


def _transition_headline(e: Event) -> str:
    return f"{e.get('from')} → {e.get('to')} ({e.get('trigger')}){_with_note(e, ': ')}"


def _check_detail(e: Event) -> str:
    return f"{e['item']} done in {e['state']}{_with_note(e, ' — ')}"


def _check_headline(e: Event) -> str:
    return f"Checklist item {e.get('item')} done in {e.get('state')}{_with_note(e, ': ')}"


def _breached_what(e: Event) -> str:
    return f"state {e['state']}" if e.get("state") else f"metric {e.get('metric')}"


def _breach_detail(e: Event) -> str:
    recorded = f", recorded {format_duration(e['late_by'])} late" if e.get("late_by") else ""
    owner = f"owner {e.get('owner') or '-'} ({e.get('assignee') or 'unassigned'})"
    return f"{_breached_what(e)} due {format_clock(e['due'])}, {owner}{recorded}"


def _breach_headline(e: Event) -> str:
    return f"Deadline breached: {_breached_what(e)}, owner {e.get('owner')} ({e.get('assignee') or 'unassigned'})"


def _ended_headline(e: Event) -> str:
    reason = f": {e['reason']}" if e.get("reason") else ""
    return f"Run ended, {e.get('outcome')}{reason}"


def _observation_detail(e: Event) -> str:
    said = "".join(
        f"; {label}: {e[key]}" for key, label in (("strength", "strength"), ("improve", "improve")) if e.get(key)
    )
    return f"{e['objective']} rated {e['rating']}{said}"


EVENT_TEXT: Mapping[str, EventText] = {
    EventType.RUN_STARTED: EventText(_started_detail, _started_headline),
    EventType.INJECT_DELIVERED: EventText(_inject_detail, _inject_headline),
    EventType.TRANSITION: EventText(_transition_detail, _transition_headline),
    EventType.CHECK_DONE: EventText(_check_detail, _check_headline),
    EventType.NOTE: EventText(lambda e: e["text"], lambda e: f"Note: {e.get('text', '')}"),
    EventType.ASSIGNED: EventText(
        lambda e: f"{e['role']} -> {e['person']}", lambda e: f"Role {e.get('role')} assigned to {e.get('person')}"
    ),
    EventType.SEVERITY_CHANGED: EventText(
        lambda e: f"{e['from']} -> {e['to']}: {e['reason']}",
        lambda e: f"Severity {e.get('from')} → {e.get('to')}: {e.get('reason', '')}",
    ),
    EventType.DEADLINE_BREACHED: EventText(_breach_detail, _breach_headline),
    EventType.NOTIFY_SENT: EventText(lambda e: f"{e['notifier']} notified of #{e['of']} ({e['attempts']} attempt(s))"),
    EventType.NOTIFY_FAILED: EventText(lambda e: f"{e['notifier']} failed for #{e['of']}: {e.get('error')}"),
    EventType.RECORD_REPAIRED: EventText(
        lambda e: f"{e['bytes']} torn bytes set aside to {e['file']}",
        lambda e: f"Record repaired: {e.get('bytes')} bytes set aside in {e.get('file')}",
    ),
    EventType.RUN_ENDED: EventText(lambda e: f"{e['outcome']}: {e['reason']}", _ended_headline),
    EventType.ANNOTATION: EventText(
        lambda e: f"on #{e['of']}: {e['text']}", lambda e: f"Annotation on #{e.get('of')}: {e.get('text', '')}"
    ),
    EventType.OBSERVATION: EventText(_observation_detail),
    EventType.FEEDBACK: EventText(lambda e: e["text"], lambda e: f"Feedback: {e.get('text', '')}"),
}
