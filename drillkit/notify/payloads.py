"""Notification bodies: one event of a run → the JSON a notifier sends (SPEC §7).

Pure functions, no I/O. `describe` turns an event into a `Message` (a headline and detail
lines, marked `[DRILL / 演练]` for drills); `render` shapes a message the way each platform
documents its incoming-webhook text or markdown message:

- `json`: drillkit's own document (also what a `command` notifier reads on stdin);
- `slack`: `{"text", "blocks": [section mrkdwn]}`, `&`, `<`, `>` escaped;
- `dingtalk`: `{"msgtype": "markdown", "markdown": {"title", "text"}}`;
- `wecom`: `{"msgtype": "markdown", "markdown": {"content"}}` (at most 4096 UTF-8 bytes);
- `feishu`: `{"msg_type": "text", "content": {"text"}}` (no markdown type exists).

As on Slack, text from the record never mentions anyone: a `<@userid>` (WeCom) or `<at …>`
(Feishu) in a note is shown with a full-width `＜`, so the group sees it and nobody is paged by it.

Every body's text is made inert first (`drillkit.model.inert`). A message too long for its
platform is cut in its headline (the note or inject text), so the run, time and actor lines stay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from drillkit.model.durations import format_clock
from drillkit.model.events import EventType
from drillkit.model.inert import inert, inert_tree
from drillkit.render.eventtext import acting_role, headline
from drillkit.render.labels import drill_mark, is_drill_mode

TEST_MARK = "[TEST / 测试]"

WECOM_MARKDOWN_BYTES = 4096
# DingTalk and Feishu limit the whole request body (20000 bytes, 20 KB): their text is measured
# as it is sent, JSON-escaped, leaving room for the title, the signature and the JSON around it.
DINGTALK_TEXT_BYTES = 18000
FEISHU_TEXT_BYTES = 18000
SLACK_SECTION_CHARS = 3000
# Where a `<` would open a mention: WeCom's `<@userid>`, Feishu's `<at user_id="all">`.
_WECOM_MENTION = re.compile(r"<(?=@)")
_FEISHU_MENTION = re.compile(r"<(?=\s*at[\s>])", re.IGNORECASE)
SHOWN_LT = "\uff1c"  # ＜: reads as `<`, opens no tag


@dataclass(frozen=True, kw_only=True)
class Message:
    """What one notification says, before a platform shapes it."""

    key: str
    headline: str
    lines: tuple[str, ...]
    run: str | None = None
    mode: str | None = None
    event: dict[str, Any] | None = None
    seal: str | None = None  # on `run.ended`: the final seal's fingerprint, a copy kept off the machine

    @property
    def text(self) -> str:
        return "\n".join((self.headline, *self.lines))


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """What a message needs to know about its run, from the record's `run.started`."""

    run: str
    mode: str
    title: str

    @classmethod
    def from_started(cls, started: dict[str, Any]) -> RunInfo:
        return cls(
            run=str(started.get("run", "")), mode=str(started.get("mode", "")), title=str(started.get("title", ""))
        )


def describe(event: dict[str, Any], info: RunInfo, seal: str | None = None) -> Message:
    """One event of a run as a message; its idempotency key is `<run>:<seq>`. `seal`: the
    fingerprint of the seal that covers a `run.ended`."""
    actor = str(event.get("actor", ""))
    role = acting_role(event)
    lines = (
        f"Run: {info.title} · {info.run}" if info.title else f"Run: {info.run}",
        f"Time: {event.get('ts', '')} ({format_clock(_number(event.get('t')))})",
        f"By: {actor} ({role})" if role else f"By: {actor}",
        *([f"Seal: {seal}"] if seal else []),
    )
    return Message(
        key=f"{info.run}:{event.get('seq')}",
        headline=drill_mark(info.mode) + headline(event),
        lines=lines,
        run=info.run,
        mode=info.mode,
        event=_announced(event),
        seal=seal,
    )


def _announced(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a notifier may see it: `run.started` names its scenario by id and title only,
    since the script and the expected responses would give an unannounced drill away (SPEC §5)."""
    scenario = event.get("scenario")
    if event.get("event") != EventType.RUN_STARTED or not isinstance(scenario, dict):
        return event
    return event | {"scenario": {"scenario": scenario.get("scenario"), "title": scenario.get("title")}}


def probe_message(notifier: str, key: str, when: str) -> Message:
    """The clearly marked message `drill notify test` sends."""
    return Message(
        key=key,
        headline=f"{TEST_MARK} drillkit notifier {notifier} works",
        lines=(f"Time: {when}", "This is a test message; no run is affected. 这是测试消息。"),
    )


def render(fmt: str, message: Message) -> dict[str, Any]:
    """The body for one payload format (one of FORMATS), its text inert: a chat window or a
    pager's terminal shows the control characters and bidi controls of a note, never obeys them."""
    shown = replace(
        message,
        headline=inert(message.headline),
        lines=tuple(inert(line) for line in message.lines),
        event=inert_tree(message.event),
    )
    return _RENDERERS[fmt](shown)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def fit(text: str, limit: int, *, escaped: bool = False) -> str:
    """`text` cut to at most `limit` UTF-8 bytes without splitting a character. `escaped`: measured
    as the body carries it, JSON-escaped (a `"`, a `\\` or a newline takes two bytes there), for
    a platform that limits the body rather than the text."""
    return _cut(text, limit, _escaped_size if escaped else _utf8_size)


def _cut(text: str, limit: int, size: Callable[[str], int]) -> str:
    """The longest start of `text` that, with an ellipsis, is at most `limit` by `size`."""
    if size(text) <= limit:
        return text
    ellipsis = "…"
    room = limit - size(ellipsis)
    keep, longest = 0, len(text)  # sizes grow with the prefix: search for the longest that fits
    while keep < longest:
        middle = (keep + longest + 1) // 2
        keep, longest = (middle, longest) if size(text[:middle]) <= room else (keep, middle - 1)
    return text[:keep] + ellipsis


def _short_headline(
    message: Message, limit: int, whole: Callable[[Message], str], size: Callable[[str], int]
) -> Message:
    """`message` with its headline cut so that `whole(message)` is at most `limit` by `size`: a
    long note or inject text gives way, and the lines naming the run, the time and who acted stay."""
    room = limit - size(whole(replace(message, headline="")))
    return replace(message, headline=_cut(message.headline, room, size))


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def _escaped_size(text: str) -> int:
    return _utf8_size(json.dumps(text, ensure_ascii=False)) - 2  # without the quotes around it


def _json(message: Message) -> dict[str, Any]:
    return {
        "idempotency_key": message.key,
        "run": message.run,
        "mode": message.mode,
        "drill": is_drill_mode(message.mode),
        "title": message.headline,
        "text": message.text,
        "event": message.event,
    } | ({"seal": message.seal} if message.seal else {})


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(message: Message) -> dict[str, Any]:
    def escaped_size(text: str) -> int:
        return len(_slack_escape(text))

    shortened = _short_headline(message, SLACK_SECTION_CHARS, _slack_section, escaped_size)
    body = _slack_escape(_slack_section(shortened))
    if len(body) > SLACK_SECTION_CHARS:
        body = body[: SLACK_SECTION_CHARS - 1] + "…"
    return {
        "text": _slack_escape(message.headline),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}],
    }


def _slack_section(message: Message) -> str:
    return "\n".join((f"*{message.headline}*", *message.lines))


def _markdown(message: Message) -> str:
    return "\n\n".join((f"**{message.headline}**", *(f"> {line}" for line in message.lines)))


def _dingtalk(message: Message) -> dict[str, Any]:
    shortened = _short_headline(message, DINGTALK_TEXT_BYTES, _markdown, _escaped_size)
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": fit(message.headline, 200, escaped=True),
            "text": fit(_markdown(shortened), DINGTALK_TEXT_BYTES, escaped=True),
        },
    }


def _wecom(message: Message) -> dict[str, Any]:
    def shown(text: str) -> str:
        return _WECOM_MENTION.sub(SHOWN_LT, text)

    shortened = _short_headline(message, WECOM_MARKDOWN_BYTES, _markdown, lambda text: _utf8_size(shown(text)))
    return {"msgtype": "markdown", "markdown": {"content": fit(shown(_markdown(shortened)), WECOM_MARKDOWN_BYTES)}}


def _feishu(message: Message) -> dict[str, Any]:
    def shown(text: str) -> str:
        return _FEISHU_MENTION.sub(SHOWN_LT, text)

    def whole(message: Message) -> str:
        return message.text

    shortened = _short_headline(message, FEISHU_TEXT_BYTES, whole, lambda text: _escaped_size(shown(text)))
    return {"msg_type": "text", "content": {"text": fit(shown(shortened.text), FEISHU_TEXT_BYTES, escaped=True)}}


_RENDERERS: dict[str, Callable[[Message], dict[str, Any]]] = {
    "json": _json,
    "slack": _slack,
    "dingtalk": _dingtalk,
    "wecom": _wecom,
    "feishu": _feishu,
}
