"""What each event of a run says, written once for every output (SPEC §4, §6, §7).

Each event type has two forms: a `detail`, a few words that follow the common fields in the
terminal, the timeline, the CSV and the reports; and a `headline`, a sentence that stands alone
at the top of a notification. Detail forms read fields strictly (a line edited to lack one is
refused by name, as the replay refuses it); headline forms use `get`, because a notifier must still
say something about an event that lacks a field. Details also have a Chinese form for `--lang zh`
(what people wrote, and the ids of the plan, stay as written); headlines are bilingual where they
matter (the drill mark) and English otherwise, since a notifier has no language option.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from drillkit.engine.fields import reads_a_line
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.events import EventType
from drillkit.store.files import effective_t
from drillkit.store.port import Event

Say = Callable[[Event], str]


class EventText(NamedTuple):
    """The two forms of one event type; no headline: the notification names the event type."""

    detail: Say
    headline: Say | None = None
    detail_zh: Say | None = None  # the Chinese detail; None: the same as the English one


def acting_role(event: Event) -> str | None:
    """The role the actor acted in. None for `assigned`, whose `role` is the role handed over
    (SPEC §4), not the actor's."""
    return None if event.get("event") == EventType.ASSIGNED else event.get("role")


@reads_a_line
def detail(event: Event, lang: str = "en") -> str:
    """What happened, in a few words, without the common fields, in `lang` (en or zh); a system
    transition or a time limit written down late says when it took effect."""
    text = _detail_form(event["event"], lang)(event)
    if effective_t(event) != float(event["t"]):
        took = format_clock(effective_t(event))
        text += f"（于 {took} 生效）" if lang == "zh" else f" (took effect at {took})"
    return text


def _detail_form(kind: str, lang: str) -> Say:
    text = EVENT_TEXT.get(kind)
    if text is None:
        return lambda e: ""
    return text.detail_zh if lang == "zh" and text.detail_zh is not None else text.detail


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


_MODES_ZH = {"incident": "事件", "drill": "演练", "simulation": "模拟演练"}
_OUTCOMES_ZH = {"resolved": "已解决", "aborted": "已中止", "timed-out": "超时结束"}
# What drillkit itself writes as a reason (`engine/replay.py`); people's reasons stay as written.
_SYSTEM_REASONS_ZH = (
    (re.compile(r"final state '(.+)' reached"), "已到达终态 '{0}'"),
    (re.compile(r"time limit reached at T\+(\d+)s"), "已到时限 T+{0}s"),
    (re.compile(r"on_deadline after '(.+)' deadline"), "'{0}' 超时后自动触发"),
)


def _system_zh(event: Event, text: str) -> str:
    """What drillkit wrote itself (a reason, a note), in Chinese; people's words as they wrote them."""
    if event.get("actor") == "system":
        for pattern, said in _SYSTEM_REASONS_ZH:
            found = pattern.fullmatch(text)
            if found:
                return said.format(*found.groups())
    return text


def _note_zh(event: Event) -> str:
    return f" — {_system_zh(event, str(event['note']))}" if event.get("note") else ""


def _started_zh(e: Event) -> str:
    plan = e["playbook"]
    mode = _MODES_ZH.get(e["mode"], e["mode"])
    return f"{mode}，预案 {plan['playbook']} 第 {plan['version']} 版，级别 {e['severity']}，状态 {e['state']}"


def _inject_zh(e: Event) -> str:
    return f"[{e['inject']}] {e['message']}" + ("（延迟送达）" if e.get("late") else "")


def _breach_zh(e: Event) -> str:
    what = f"状态 {e['state']}" if e.get("state") else f"指标 {e.get('metric')}"
    recorded = f"，记录时已晚 {format_duration(e['late_by'])}" if e.get("late_by") else ""
    owner = f"责任角色 {e.get('owner') or '-'}（{e.get('assignee') or '未指派'}）"
    return f"{what} 截止 {format_clock(e['due'])}，{owner}{recorded}"


def _ended_zh(e: Event) -> str:
    return f"{_OUTCOMES_ZH.get(e['outcome'], e['outcome'])}：{_system_zh(e, str(e['reason']))}"


def _observation_detail(e: Event) -> str:
    said = "".join(
        f"; {label}: {e[key]}" for key, label in (("strength", "strength"), ("improve", "improve")) if e.get(key)
    )
    return f"{e['objective']} rated {e['rating']}{said}"


EVENT_TEXT: Mapping[str, EventText] = {
    EventType.RUN_STARTED: EventText(_started_detail, _started_headline, _started_zh),
    EventType.INJECT_DELIVERED: EventText(_inject_detail, _inject_headline, _inject_zh),
    EventType.TRANSITION: EventText(
        _transition_detail, _transition_headline, lambda e: f"{e['trigger']}：{e['from']} → {e['to']}{_note_zh(e)}"
    ),
    EventType.CHECK_DONE: EventText(
        _check_detail, _check_headline, lambda e: f"{e['item']} 已完成（状态 {e['state']}）{_note_zh(e)}"
    ),
    EventType.NOTE: EventText(lambda e: e["text"], lambda e: f"Note: {e.get('text', '')}"),
    EventType.ASSIGNED: EventText(
        lambda e: f"{e['role']} -> {e['person']}",
        lambda e: f"Role {e.get('role')} assigned to {e.get('person')}",
        lambda e: f"{e['role']} 由 {e['person']} 担任",
    ),
    EventType.SEVERITY_CHANGED: EventText(
        lambda e: f"{e['from']} -> {e['to']}: {e['reason']}",
        lambda e: f"Severity {e.get('from')} → {e.get('to')}: {e.get('reason', '')}",
        lambda e: f"{e['from']} → {e['to']}：{e['reason']}",
    ),
    EventType.DEADLINE_BREACHED: EventText(_breach_detail, _breach_headline, _breach_zh),
    EventType.NOTIFY_SENT: EventText(
        lambda e: f"{e['notifier']} notified of #{e['of']} ({e['attempts']} attempt(s))",
        detail_zh=lambda e: f"{e['notifier']} 已通知 #{e['of']}（尝试 {e['attempts']} 次）",
    ),
    EventType.NOTIFY_FAILED: EventText(
        lambda e: f"{e['notifier']} failed for #{e['of']}: {e.get('error')}",
        detail_zh=lambda e: f"{e['notifier']} 未能通知 #{e['of']}：{e.get('error')}",
    ),
    EventType.RECORD_REPAIRED: EventText(
        lambda e: f"{e['bytes']} torn bytes set aside to {e['file']}",
        lambda e: f"Record repaired: {e.get('bytes')} bytes set aside in {e.get('file')}",
        lambda e: f"{e['bytes']} 字节的残缺末行已移至 {e['file']}",
    ),
    EventType.RUN_ENDED: EventText(lambda e: f"{e['outcome']}: {e['reason']}", _ended_headline, _ended_zh),
    EventType.ANNOTATION: EventText(
        lambda e: f"on #{e['of']}: {e['text']}",
        lambda e: f"Annotation on #{e.get('of')}: {e.get('text', '')}",
        lambda e: f"批注 #{e['of']}：{e['text']}",
    ),
    EventType.OBSERVATION: EventText(_observation_detail),
    EventType.FEEDBACK: EventText(lambda e: e["text"], lambda e: f"Feedback: {e.get('text', '')}"),
}
