"""Notification bodies: each platform's documented shape, drill marks, Chinese text intact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drillkit.config.notifiers import FORMATS
from drillkit.notify.payloads import (
    TEST_MARK,
    WECOM_MARKDOWN_BYTES,
    Message,
    RunInfo,
    describe,
    fit,
    probe_message,
    render,
)

DRILL_MARK = "[DRILL / 演练]"  # what every message of a drill starts with
RUN = "20260301T080000Z-core-network-outage-1a2b"
INJECT = {
    "v": 1,
    "seq": 2,
    "ts": "2026-03-01T08:00:00.000Z",
    "t": 0.0,
    "run": RUN,
    "event": "inject.delivered",
    "actor": "system",
    "role": None,
    "inject": "alarm",
    "message": "MME 池 BJ-3 不可达；12 万用户受影响",
    "due": 0,
    "late": False,
}
DRILL = RunInfo(run=RUN, mode="drill", title="核心网故障 / Core network outage")
INCIDENT = RunInfo(run=RUN, mode="incident", title="核心网故障 / Core network outage")


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """What a server receives: the UTF-8 bytes we send, decoded again."""
    decoded: dict[str, Any] = json.loads(json.dumps(body, ensure_ascii=False).encode("utf-8").decode("utf-8"))
    return decoded


def texts(body: dict[str, Any]) -> list[str]:
    """Every string a reader of the message could see, per format."""
    if "msgtype" in body:
        inner = body[body["msgtype"]]
        return [inner[key] for key in ("title", "text", "content") if key in inner]
    if "msg_type" in body:
        return [body["content"]["text"]]
    if "blocks" in body:
        return [body["text"], body["blocks"][0]["text"]["text"]]
    return [body["title"], body["text"]]


def test_dingtalk_is_a_markdown_message_with_title_and_text() -> None:
    body = wire(render("dingtalk", describe(INJECT, DRILL)))
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    assert "MME 池 BJ-3 不可达" in body["markdown"]["text"]


def test_wecom_is_a_markdown_message_with_content() -> None:
    body = wire(render("wecom", describe(INJECT, DRILL)))
    assert body == {"msgtype": "markdown", "markdown": {"content": body["markdown"]["content"]}}
    assert "12 万用户受影响" in body["markdown"]["content"]


def test_feishu_is_a_text_message_with_msg_type_and_content_text() -> None:
    body = wire(render("feishu", describe(INJECT, DRILL)))
    assert body["msg_type"] == "text"
    assert set(body["content"]) == {"text"}
    assert "核心网故障" in body["content"]["text"]


def test_slack_has_a_fallback_text_and_one_mrkdwn_section() -> None:
    body = wire(render("slack", describe(INJECT, DRILL)))
    assert body["text"].startswith(DRILL_MARK)
    [block] = body["blocks"]
    assert block["type"] == "section"
    assert block["text"]["type"] == "mrkdwn"
    assert "MME 池 BJ-3" in block["text"]["text"]


def test_json_carries_the_idempotency_key_and_the_whole_event() -> None:
    body = wire(render("json", describe(INJECT, DRILL)))
    assert body["idempotency_key"] == f"{RUN}:2"
    assert body["event"] == INJECT
    assert body["mode"] == "drill"
    assert body["drill"] is True


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_drill_message_begins_with_the_drill_mark(fmt: str) -> None:
    for text in texts(render(fmt, describe(INJECT, DRILL))):
        assert text.lstrip("*").startswith(DRILL_MARK), text


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_messages_are_not_marked_as_drills(fmt: str) -> None:
    for text in texts(render(fmt, describe(INJECT, INCIDENT))):
        assert DRILL_MARK not in text


def test_simulations_are_marked_as_drills_too() -> None:
    message = describe(INJECT, RunInfo(run=RUN, mode="simulation", title="t"))
    assert message.headline.startswith(DRILL_MARK)


def test_a_breach_names_what_was_breached_its_owner_and_the_person() -> None:
    breach = {
        "seq": 9,
        "event": "deadline.breached",
        "actor": "system",
        "role": None,
        "state": "detected",
        "owner": "noc",
        "assignee": "bob",
        "due": 300,
        "late_by": 0,
        "t": 300.0,
        "ts": "x",
    }
    headline = describe(breach, INCIDENT).headline
    assert "detected" in headline
    assert "noc" in headline
    assert "bob" in headline


def test_slack_escapes_markup_so_a_message_cannot_ping_everyone() -> None:
    event = dict(INJECT, message="<!channel> & friends")
    body = render("slack", describe(event, INCIDENT))
    assert "<!channel>" not in json.dumps(body)
    assert "&lt;!channel&gt; &amp; friends" in body["blocks"][0]["text"]["text"]


def test_a_note_cannot_mention_everyone_in_a_feishu_group() -> None:
    event = dict(INJECT, message='call the bridge <at user_id="all">所有人</at> now')
    [text] = texts(wire(render("feishu", describe(event, DRILL))))
    assert "<at" not in text
    assert 'call the bridge ＜at user_id="all">所有人</at> now' in text


def test_a_note_cannot_mention_anyone_in_a_wecom_group() -> None:
    event = dict(INJECT, message="ask <@zhangsan> for the <b>phone list</b>")
    [content] = texts(wire(render("wecom", describe(event, DRILL))))
    assert "<@" not in content
    assert "ask ＜@zhangsan> for the <b>phone list</b>" in content


def test_wecom_content_stays_within_4096_bytes_without_breaking_a_character() -> None:
    event = dict(INJECT, message="应急" * 3000)
    content = render("wecom", describe(event, DRILL))["markdown"]["content"]
    raw = content.encode("utf-8")
    assert len(raw) <= WECOM_MARKDOWN_BYTES
    assert "应急…**" in raw.decode("utf-8")


@pytest.mark.parametrize("fmt", ["slack", "dingtalk", "wecom", "feishu"])
def test_a_long_inject_text_is_cut_but_the_run_time_and_actor_lines_stay(fmt: str) -> None:
    event = dict(INJECT, message="应急 & <告警> " * 3000)
    [*_, text] = texts(wire(render(fmt, describe(event, DRILL))))
    assert "…" in text
    assert f"Run: {DRILL.title} · {RUN}" in text
    assert "Time: 2026-03-01T08:00:00.000Z (T+00:00:00)" in text
    assert text.endswith("By: system")


def test_fit_leaves_short_text_alone_and_cuts_on_character_boundaries() -> None:
    assert fit("短信", 100) == "短信"
    cut = fit("演练演练演练", 10)
    assert len(cut.encode("utf-8")) <= 10
    assert cut == "演练…"


def test_probe_message_is_clearly_a_test_in_every_format() -> None:
    message = probe_message("noc-group", key="test:2026-03-01T08:00:00.000Z", when="2026-03-01T08:00:00.000Z")
    for fmt in FORMATS:
        assert any(TEST_MARK in text for text in texts(render(fmt, message)))


def test_message_text_joins_headline_and_lines() -> None:
    message = Message(key="k", headline="h", lines=("a", "b"))
    assert message.text == "h\na\nb"
