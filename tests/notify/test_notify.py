"""Notifiers: configuration, senders against a local server, the outbox against a real record."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from drillkit.config.notifiers import Notifier, parse_notifiers
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock, VirtualClock
from drillkit.model.errors import UsageError
from drillkit.notify.outbox import Outbox, due
from drillkit.notify.payloads import Message
from drillkit.notify.secrets import redact_url
from drillkit.notify.senders import deliver
from drillkit.notify.webhook import dingtalk_signed_url, feishu_sign
from drillkit.store.files import RunRecord
from drillkit.store.verify import verify_file
from tests.notify.conftest import HANG, Hook

DRILL_MARK = "[DRILL / 演练]"  # what every message of a drill starts with
RUN = "20260301T080000Z-core-network-outage-1a2b"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CLOCK = VirtualClock(START)  # moves as deliveries wait: a test that needs START makes its own
DRILL_BIN = Path(sys.executable).with_name("drill")


def webhook(url: str, **extra: Any) -> Notifier:
    entry = {"name": "noc-group", "kind": "webhook", "url": url, "attempts": 3, "backoff": 0.01} | extra
    [notifier] = parse_notifiers([entry])
    return notifier


def command(argv: list[str], **extra: Any) -> Notifier:
    entry = {"name": "noc-pager", "kind": "command", "command": argv, "attempts": 2, "backoff": 0.01} | extra
    [notifier] = parse_notifiers([entry])
    return notifier


MESSAGE = Message(key=f"{RUN}:2", headline=f"{DRILL_MARK} Inject alarm: 核心网告警", lines=("Run: x",), run=RUN)


def start_run(ws: Workspace, mode: str = "drill", *, run: str = RUN, injects: int = 1) -> RunRecord:
    """A record with `run.started` and `injects` injects (seq 2 onwards)."""
    clock = VirtualClock(START)
    record = RunRecord(ws, run)
    record.create(
        {
            "event": "run.started",
            "actor": "alice",
            "role": None,
            "mode": mode,
            "playbook": {"playbook": "core-network-outage", "version": 3},
            "title": "核心网故障",
            "severity": "II",
            "state": "detected",
            "speed": 1.0,
            "chain": "sha256",
        },
        clock,
    )
    delivered = [
        {
            "event": "inject.delivered",
            "actor": "system",
            "role": None,
            "inject": f"alarm{n or ''}",
            "message": "MME 池 BJ-3 不可达",
            "due": 0,
            "late": False,
        }
        for n in range(injects)
    ]
    record.append(lambda events, now: delivered, clock)
    return record


def outcomes(record: RunRecord) -> list[dict[str, Any]]:
    return [e for e in record.read() if e["event"].startswith("notify.")]


# --- configuration -------------------------------------------------------------------------


def test_notifiers_are_read_from_drill_toml(ws: Workspace) -> None:
    (ws.root / "drill.toml").write_text(
        '[[notify]]\nname = "noc-pager"\nkind = "command"\ncommand = ["/bin/true"]\n'
        'events = ["inject.delivered"]\n\n'
        '[[notify]]\nname = "noc-group"\nkind = "webhook"\nformat = "dingtalk"\n'
        'url = "https://example.invalid/robot/send?access_token=${NOC_TOKEN}"\ntimeout = "10s"\n',
        encoding="utf-8",
    )
    pager, group = ws.notifiers()
    assert pager.command == ("/bin/true",)
    assert pager.events == {"inject.delivered"}
    assert pager.modes == {"incident", "drill"}
    assert (group.format, group.timeout, group.attempts) == ("dingtalk", 10.0, 5)


@pytest.mark.parametrize(
    ("entry", "names"),
    [
        ({"kind": "pager"}, ["kind 'pager'", "command, webhook"]),
        ({"modes": ["simulation"]}, ["simulations never notify", "incident, drill"]),
        ({"events": ["notify.sent"]}, ["cannot be notified", "inject.delivered"]),
        ({"attempts": 0}, ["attempts 0", "1 to 20"]),
        ({"timeout": "5"}, ["timeout", "no unit"]),
        ({"retries": 3}, ["unknown key 'retries'", "attempts"]),
        ({"format": "teams"}, ["format 'teams'", "dingtalk"]),
        ({"url": "ftp://example.invalid/x"}, ["https://"]),
        ({"command": ["/bin/true"]}, ["unknown key 'command'", "url"]),
        ({"secret": "${S}"}, ["secret signs only formats dingtalk, feishu"]),
        ({"rate": "20"}, ["rate '20' is not allowed", '"COUNT/DURATION" such as "20/1m"']),
        ({"rate": ["20/1m", "5/2h"]}, ["rate '5/2h' is not allowed", "1s to 1h"]),
    ],
)
def test_a_bad_notifier_names_drill_toml_the_notifier_and_what_is_allowed(
    entry: dict[str, Any], names: list[str]
) -> None:
    base = {"name": "noc-group", "kind": "webhook", "url": "https://example.invalid/x"}
    with pytest.raises(UsageError) as raised:
        parse_notifiers([base | entry])
    message = str(raised.value)
    assert message.startswith("drill.toml: notifier 'noc-group': ")
    for name in names:
        assert name in message


def test_two_notifiers_with_one_name_are_refused() -> None:
    entry = {"name": "a", "kind": "command", "command": ["/bin/true"]}
    with pytest.raises(UsageError, match="used twice"):
        parse_notifiers([entry, entry])


def test_a_command_notifier_needs_its_command() -> None:
    with pytest.raises(UsageError, match="needs command"):
        parse_notifiers([{"name": "a", "kind": "command"}])


def test_redact_url_keeps_only_scheme_and_host() -> None:
    assert redact_url("https://oapi.dingtalk.com/robot/send?access_token=abc") == "https://oapi.dingtalk.com"
    assert redact_url("https://hooks.slack.com/services/T0/B0/XXXX") == "https://hooks.slack.com"
    assert redact_url("http://127.0.0.1:8080/hook/secret") == "http://127.0.0.1:8080"


# --- which events are due --------------------------------------------------------------------


def events_of(mode: str) -> list[dict[str, Any]]:
    return [
        {"seq": 1, "event": "run.started", "mode": mode, "run": RUN},
        {"seq": 2, "event": "inject.delivered"},
        {"seq": 3, "event": "transition"},
        {"seq": 4, "event": "deadline.breached"},
    ]


def test_due_matches_event_types_and_skips_what_was_recorded() -> None:
    pager = command(["/bin/true"], events=["inject.delivered", "deadline.breached"])
    events = [*events_of("drill"), {"seq": 5, "event": "notify.sent", "notifier": "noc-pager", "of": 2}]
    assert [event["seq"] for _, event in due([pager], events)] == [4]


def test_due_honours_modes_and_simulations_never_notify() -> None:
    incident_only = command(["/bin/true"], events=["inject.delivered"], modes=["incident"])
    both = command(["/bin/true"], events=["inject.delivered"])
    assert due([incident_only], events_of("drill")) == []
    assert len(due([incident_only], events_of("incident"))) == 1
    assert due([both], events_of("simulation")) == []


def test_outcome_events_are_never_notified_even_when_failed() -> None:
    everything = command(["/bin/true"], events=["run.started", "inject.delivered", "transition", "run.ended"])
    events = [*events_of("drill"), {"seq": 5, "event": "notify.failed", "notifier": "other", "of": 2}]
    assert {event["event"] for _, event in due([everything], events)} == {
        "run.started",
        "inject.delivered",
        "transition",
    }


# --- senders ---------------------------------------------------------------------------------


def test_webhook_retries_a_500_and_sends_the_idempotency_key_each_time(hook: Hook) -> None:
    hook.script = [(500, b"busy"), (200, b"ok")]
    outcome = deliver(webhook(hook.url), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts, outcome.error) == (True, 2, None)
    assert [headers["Idempotency-Key"] for _, headers, _ in hook.got] == [f"{RUN}:2", f"{RUN}:2"]


def test_webhook_body_is_utf8_json_with_chinese_intact(hook: Hook) -> None:
    hook.script = [(200, b'{"errcode":0,"errmsg":"ok"}')]
    assert deliver(webhook(hook.url, format="wecom"), MESSAGE, CLOCK).ok
    [(_, headers, raw)] = hook.got
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert "核心网告警" in raw.decode("utf-8")
    assert json.loads(raw)["markdown"]["content"].startswith(f"**{DRILL_MARK}")


def test_webhook_gives_up_after_the_configured_attempts(hook: Hook) -> None:
    hook.script = [(500, b"down")]
    outcome = deliver(webhook(hook.url, attempts=4), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 4)
    assert outcome.error is not None
    assert "HTTP 500" in outcome.error
    assert len(hook.got) == 4


def test_a_rejected_request_is_not_retried(hook: Hook) -> None:
    hook.script = [(404, b"channel_not_found")]
    outcome = deliver(webhook(hook.url, format="slack"), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "channel_not_found" in str(outcome.error)


def test_dingtalk_errors_inside_a_200_answer_are_failures(hook: Hook) -> None:
    hook.script = [(200, json.dumps({"errcode": 310000, "errmsg": "keywords not in content"}).encode())]
    outcome = deliver(webhook(hook.url, format="dingtalk"), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "errcode 310000" in str(outcome.error)


PLATFORM_BODY_LIMIT = 20000  # DingTalk refuses a longer body (errcode 460101), Feishu one over 20 KB (9499)


@pytest.mark.parametrize("fmt", ["dingtalk", "feishu"])
@pytest.mark.parametrize("pasted", ['{"alarm": "MME down", "pool": "BJ-3"} ' * 500, "C:\\logs\\mme\\" * 1500])
def test_a_long_note_of_quotes_or_backslashes_stays_within_the_platform_body_limit(
    hook: Hook, fmt: str, pasted: str
) -> None:
    hook.script = [(200, b'{"errcode":0,"errmsg":"ok","code":0}')]
    message = Message(key=f"{RUN}:2", headline=f"{DRILL_MARK} Note: {pasted}", lines=("Run: x",), run=RUN)
    assert deliver(webhook(hook.url, format=fmt, secret="SECsigning-secret"), message, CLOCK).ok
    [(_, _, raw)] = hook.got
    assert len(raw) <= PLATFORM_BODY_LIMIT
    assert "…" in raw.decode("utf-8")


@pytest.mark.parametrize(
    ("fmt", "answer"), [("feishu", b'{"errcode":0,"errmsg":"ok"}'), ("dingtalk", b'{"errcode":"0","errmsg":"ok"}')]
)
def test_an_answer_without_the_platforms_code_is_quoted_in_the_failure(hook: Hook, fmt: str, answer: bytes) -> None:
    hook.script = [(200, answer)]
    outcome = deliver(webhook(hook.url, format=fmt), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert outcome.error is not None
    assert outcome.error.endswith(
        f"answered without a numeric {'code' if fmt == 'feishu' else 'errcode'}: {answer.decode()}"
    )


def test_a_rate_limited_feishu_answer_is_retried(hook: Hook) -> None:
    hook.script = [(200, b'{"code":11232,"msg":"frequency limited"}'), (200, b'{"code":0,"msg":"success"}')]
    outcome = deliver(webhook(hook.url, format="feishu"), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (True, 2)


def test_a_webhook_that_never_answers_times_out(hook: Hook) -> None:
    hook.script = [HANG]
    began = time.perf_counter()
    outcome = deliver(webhook(hook.url, attempts=2, timeout=0.2), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 2)
    assert "timed out" in str(outcome.error)
    assert time.perf_counter() - began < 3


def test_secrets_never_appear_in_errors(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOC_TOKEN", "tok-3f9a8c7e51")
    monkeypatch.setenv("NOC_HEADER", "Bearer hdr-77aa21bc")
    hook.script = [(500, b"bad token tok-3f9a8c7e51 for Bearer hdr-77aa21bc")]
    notifier = webhook(hook.url + "?access_token=${NOC_TOKEN}", headers={"Authorization": "${NOC_HEADER}"})
    outcome = deliver(notifier, MESSAGE, CLOCK)
    path, headers, _ = hook.got[0]
    assert path.endswith("access_token=tok-3f9a8c7e51")
    assert headers["Authorization"] == "Bearer hdr-77aa21bc"
    assert "tok-3f9a8c7e51" not in str(outcome.error)
    assert "hdr-77aa21bc" not in str(outcome.error)
    assert "HTTP 500 from http://127.0.0.1" in str(outcome.error)


def test_dingtalk_signing_puts_timestamp_and_sign_in_the_query(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DING_SECRET", "SEC0123456789abcdef")
    hook.script = [(200, b'{"errcode":0,"errmsg":"ok"}')]
    notifier = webhook(hook.url + "?access_token=t0ken123", format="dingtalk", secret="${DING_SECRET}")
    assert deliver(notifier, MESSAGE, VirtualClock(START)).ok
    query = parse_qs(urlsplit(hook.got[0][0]).query)
    millis = int(START.timestamp() * 1000)
    expected = hmac.new(b"SEC0123456789abcdef", f"{millis}\nSEC0123456789abcdef".encode(), hashlib.sha256).digest()
    assert query["access_token"] == ["t0ken123"]
    assert query["timestamp"] == [str(millis)]
    assert query["sign"] == [base64.b64encode(expected).decode()]


def test_dingtalk_sign_is_url_encoded_exactly_once() -> None:
    signed = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", "SECabc", 1700000000000)
    sign = signed.rsplit("sign=", 1)[1]
    digest = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    assert unquote_plus(sign) == base64.b64encode(digest).decode()
    assert sign.endswith("%3D")
    assert "%25" not in sign


def test_feishu_signing_puts_timestamp_and_sign_in_the_body(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEISHU_SECRET", "feishu-secret-42")
    hook.script = [(200, b'{"code":0,"msg":"success"}')]
    assert deliver(webhook(hook.url, format="feishu", secret="${FEISHU_SECRET}"), MESSAGE, VirtualClock(START)).ok
    [body] = hook.bodies()
    seconds = int(START.timestamp())
    key = f"{seconds}\nfeishu-secret-42".encode()
    assert body["timestamp"] == str(seconds)
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == feishu_sign("feishu-secret-42", seconds)
    assert body["msg_type"] == "text"


def test_signing_secrets_never_appear_in_errors(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DING_SECRET", "SECdeadbeef1234")
    hook.script = [(500, hook.url.encode())]
    notifier = webhook(hook.url, format="dingtalk", secret="${DING_SECRET}", attempts=1)
    outcome = deliver(notifier, MESSAGE, CLOCK)
    sign = parse_qs(urlsplit(hook.got[0][0]).query)["sign"][0]
    assert "SECdeadbeef1234" not in str(outcome.error)
    assert sign not in str(outcome.error)
    assert "HTTP 500" in str(outcome.error)


def test_a_missing_environment_variable_fails_at_once_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOC_TOKEN", raising=False)
    outcome = deliver(webhook("https://example.invalid/x?access_token=${NOC_TOKEN}"), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "NOC_TOKEN is not set" in str(outcome.error)


def test_a_command_reads_the_event_as_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    argv = [sys.executable, "-c", "import sys; open(sys.argv[1], 'wb').write(sys.stdin.buffer.read())", str(out)]
    outcome = deliver(command(argv), MESSAGE, CLOCK)
    assert outcome.ok
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["idempotency_key"] == f"{RUN}:2"
    assert "核心网告警" in body["text"]


def test_a_failing_command_is_retried_and_its_last_stderr_line_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER_KEY", "key-5b2e99d1")
    script = "import sys; sys.stderr.write('rejected ' + sys.argv[1] + '\\n'); sys.exit(3)"
    outcome = deliver(command([sys.executable, "-c", script, "${PAGER_KEY}"], attempts=3), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 3)
    assert "exited with status 3: rejected ***" in str(outcome.error)


@pytest.mark.slow
def test_a_command_that_hangs_is_killed_at_its_timeout() -> None:
    began = time.perf_counter()
    outcome = deliver(
        command([sys.executable, "-c", "import time; time.sleep(30)"], attempts=1, timeout=0.5), MESSAGE, CLOCK
    )
    assert "timed out" in str(outcome.error)
    assert time.perf_counter() - began < 5


def test_a_missing_program_fails_without_retries(tmp_path: Path) -> None:
    outcome = deliver(command([str(tmp_path / "no-such-pager")]), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "cannot run no-such-pager" in str(outcome.error)


# --- the outbox, against a real record --------------------------------------------------------


def test_outbox_records_sent_with_the_attempt_count(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    hook.script = [(500, b"busy"), (200, b"ok")]
    outbox = Outbox(ws, VirtualClock(START), [webhook(hook.url, events=["inject.delivered"])])
    assert outbox.poll(RUN, record.read()) == 1
    assert outbox.close(10)
    [sent] = outcomes(record)
    assert (sent["event"], sent["notifier"], sent["of"], sent["attempts"], sent["error"]) == (
        "notify.sent",
        "noc-group",
        2,
        2,
        None,
    )
    assert all(body["title"].startswith(DRILL_MARK) for body in hook.bodies())


def test_outbox_records_failed_after_the_configured_attempts(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    hook.script = [(500, b"down")]
    outbox = Outbox(ws, VirtualClock(START), [webhook(hook.url, events=["inject.delivered"], attempts=3)])
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    [failed] = outcomes(record)
    assert (failed["event"], failed["of"], failed["attempts"]) == ("notify.failed", 2, 3)
    assert "HTTP 500" in failed["error"]


@pytest.mark.slow
def test_poll_never_waits_on_a_webhook_that_never_answers(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    hook.script = [HANG]
    notifiers = [webhook(hook.url, attempts=2, timeout=0.3), command(["/bin/true"])]
    outbox = Outbox(ws, VirtualClock(START), notifiers)
    events = record.read()
    began = time.perf_counter()
    handed = outbox.poll(RUN, events)
    took = time.perf_counter() - began
    assert handed == 4
    assert took < 0.05
    assert outbox.close(10)
    timed_out = [e for e in outcomes(record) if e["notifier"] == "noc-group"]
    assert {e["of"] for e in timed_out} == {1, 2}
    assert all(e["event"] == "notify.failed" and "timed out" in e["error"] for e in timed_out)


def test_an_event_is_delivered_once_per_process_and_not_again_once_recorded(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    notifier = webhook(hook.url, events=["inject.delivered"])
    outbox = Outbox(ws, VirtualClock(START), [notifier])
    stale = record.read()
    assert outbox.poll(RUN, stale) == 1
    assert outbox.poll(RUN, stale) == 0
    assert outbox.close(10)
    later = Outbox(ws, VirtualClock(START), [notifier])
    assert later.poll(RUN, record.read()) == 0
    later.close(1)
    assert len(hook.got) == 1
    assert len(outcomes(record)) == 1


def test_a_delivery_cut_short_is_not_recorded_and_a_new_process_sends_it_again(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    hook.script = [(500, b"busy"), (200, b"ok")]
    waiting = SystemClock()  # the backoff takes real time: the close comes while it waits
    first = Outbox(ws, waiting, [webhook(hook.url, events=["inject.delivered"], backoff=30)])
    first.poll(RUN, record.read())
    for _ in range(500):
        if hook.got:
            break
        time.sleep(0.01)
    assert not first.close(0)
    assert outcomes(record) == []
    second = Outbox(ws, VirtualClock(START), [webhook(hook.url, events=["inject.delivered"])])
    assert second.poll(RUN, record.read()) == 1
    assert second.close(10)
    [sent] = outcomes(record)
    assert (sent["event"], sent["attempts"]) == ("notify.sent", 1)
    assert [headers["Idempotency-Key"] for _, headers, _ in hook.got] == [f"{RUN}:2", f"{RUN}:2"]


def test_a_simulation_never_reaches_a_notifier(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws, mode="simulation")
    outbox = Outbox(ws, VirtualClock(START), [webhook(hook.url, events=["run.started", "inject.delivered"])])
    assert outbox.poll(RUN, record.read()) == 0
    outbox.close(1)
    assert hook.got == []


def test_no_secret_reaches_the_record(ws: Workspace, hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOC_TOKEN", "tok-9d8c7b6a5f")
    record = start_run(ws, mode="incident")
    hook.script = [(403, b"invalid_token tok-9d8c7b6a5f")]
    notifier = webhook(hook.url + "/${NOC_TOKEN}?access_token=${NOC_TOKEN}", events=["inject.delivered"])
    outbox = Outbox(ws, VirtualClock(START), [notifier])
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    assert hook.got[0][0].endswith("access_token=tok-9d8c7b6a5f")
    [failed] = outcomes(record)
    assert "HTTP 403" in failed["error"]
    assert b"tok-9d8c7b6a5f" not in record.path.read_bytes()


def test_incident_messages_carry_no_drill_mark(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws, mode="incident")
    outbox = Outbox(ws, VirtualClock(START), [webhook(hook.url, events=["inject.delivered"])])
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    [body] = hook.bodies()
    assert not body["title"].startswith(DRILL_MARK)
    assert body["idempotency_key"] == f"{RUN}:2"


# --- drill notify test -----------------------------------------------------------------------


def drill(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DRILL_BIN), "--workspace", str(ws.root), *args], capture_output=True, text=True, timeout=60, check=False
    )


def configure(ws: Workspace, url: str) -> None:
    (ws.root / "drill.toml").write_text(
        f'[[notify]]\nname = "noc-group"\nkind = "webhook"\nurl = "{url}"\nformat = "feishu"\nattempts = 1\n',
        encoding="utf-8",
    )


def test_notify_test_sends_a_marked_test_message(ws: Workspace, hook: Hook) -> None:
    configure(ws, hook.url)
    hook.script = [(200, b'{"code":0,"msg":"success"}')]
    result = drill(ws, "notify", "test", "noc-group")
    assert result.returncode == 0, result.stderr
    assert "sent" in result.stderr
    assert result.stdout == ""
    [body] = hook.bodies()
    assert body["content"]["text"].startswith("[TEST / 测试]")


def test_notify_test_fails_with_exit_1_and_says_why(ws: Workspace, hook: Hook) -> None:
    configure(ws, hook.url)
    hook.script = [(200, b'{"code":19024,"msg":"Key Words Not Found"}')]
    result = drill(ws, "notify", "test", "noc-group")
    assert result.returncode == 1
    assert "code 19024" in result.stderr


def test_notify_test_of_an_unknown_notifier_names_those_configured(ws: Workspace) -> None:
    configure(ws, "https://example.invalid/x")
    result = drill(ws, "notify", "test", "pager")
    assert result.returncode == 2
    assert "no notifier 'pager'" in result.stderr
    assert "noc-group" in result.stderr


NEEDS_HOST = 'kind webhook needs url = "https://host/…" with a host name (secrets as ${VAR})'
BROKEN_NOTIFIERS = {
    'kind = "command"\ncommand = []': 'kind command needs command = ["program", "arg", …]',
    'kind = "webhook"\nurl = "http://[::1"': NEEDS_HOST,
    'kind = "webhook"\nurl = "http://"': NEEDS_HOST,
}


@pytest.mark.parametrize("table", BROKEN_NOTIFIERS, ids=["empty command", "unclosed IPv6 host", "no host"])
def test_a_notifier_that_cannot_send_is_reported_by_validate_and_refused_by_notify_test(
    ws: Workspace, table: str
) -> None:
    init = drill(ws, "init", str(ws.root / "w"))
    assert init.returncode == 0, init.stderr
    workspace = Workspace(ws.root / "w")
    (workspace.root / "drill.toml").write_text(f'\n[[notify]]\nname = "a"\n{table}\n', encoding="utf-8")
    problem = f"notifier 'a': {BROKEN_NOTIFIERS[table]}"
    checked = drill(workspace, "validate")
    assert (checked.returncode, checked.stdout.splitlines()[0]) == (1, f"drill.toml:2:1: {problem}")
    result = drill(workspace, "notify", "test", "a")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"drill: drill.toml: {problem}"]


@pytest.mark.parametrize("expanded", ["http://", "http://[::1", "ftp://example.invalid/x"])
def test_a_url_that_expands_to_no_web_address_fails_saying_so(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, expanded: str
) -> None:
    monkeypatch.setenv("HOOK_URL", expanded)
    configure(ws, "${HOOK_URL}")
    result = drill(ws, "notify", "test", "noc-group")
    assert result.returncode == 1
    failed = "notifier noc-group: test message failed after 1 attempt"
    assert result.stderr.splitlines() == [f"{failed}: the url, once expanded, is not a web address with a host"]


def test_a_notifier_shows_no_url_header_or_command_when_printed() -> None:
    notifier = webhook("https://hooks.example.invalid/services/T0/B0/s3cr3t-path-token", headers={"X-Key": "k-123456"})
    assert "s3cr3t" not in repr(notifier)
    assert "k-123456" not in repr(notifier)


def test_a_connection_refused_is_retried_and_named_by_host_only() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    outcome = deliver(webhook(f"http://127.0.0.1:{port}/hook/abcdef123456", attempts=2), MESSAGE, CLOCK)
    assert (outcome.ok, outcome.attempts) == (False, 2)
    assert f"http://127.0.0.1:{port}" in str(outcome.error)
    assert "abcdef123456" not in str(outcome.error)


def test_the_outcome_for_run_ended_is_recorded_after_it(ws: Workspace, hook: Hook) -> None:
    record = start_run(ws)
    ended = {"event": "run.ended", "actor": "system", "role": None, "outcome": "aborted", "reason": "test"}
    record.append(lambda events, now: [ended], CLOCK)
    outbox = Outbox(ws, CLOCK, [webhook(hook.url, events=["run.ended"])])
    assert outbox.poll(RUN, record.read()) == 1
    assert outbox.close(10)
    assert len(hook.got) == 1
    last = record.read()[-1]
    assert (last["event"], last["of"], last["notifier"]) == ("notify.sent", 3, "noc-group")
    assert verify_file(record.path, None).verdict == "ok"
