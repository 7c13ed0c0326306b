"""Pacing: a chat robot gets messages no faster than its platform takes them (SPEC §7).

The robots here count arrivals on the same virtual clock the deliveries wait on, so a ten-minute
throttle takes no time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drillkit.config.notifiers import Rate, parse_notifiers
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock, VirtualClock
from drillkit.notify.outbox import Outbox
from drillkit.services import conducting
from drillkit.services.conductor import Conductor
from drillkit.services.drills import start_drill
from tests.conftest import read_events
from tests.notify.conftest import DINGTALK_OK, DINGTALK_TOO_FAST, Answer, Hook, Robot
from tests.notify.test_notify import RUN, outcomes, start_run, webhook
from tests.services.test_drills import write_fast_drill

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
OTHER_RUN = "20260301T090000Z-core-network-outage-3c4d"


def notify_table(url: str, extra: str = "") -> str:
    return (
        f'[[notify]]\nname = "noc-group"\nkind = "webhook"\nformat = "dingtalk"\n'
        f'url = "{url}?access_token=t0ken123"\nevents = ["inject.delivered"]\n{extra}'
    )


def sent_and_failed(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events if e["event"] in ("notify.sent", "notify.failed")]


def test_thirty_injects_in_a_minute_reach_a_dingtalk_robot_paced_and_all_sent(workspace: Path, robot: Robot) -> None:
    """A scenario delivering 30 injects in its first minute, conducted here on a virtual clock:
    without pacing the robot throttled the last 10 and each ended as `notify.failed`."""
    ws, clock = Workspace(workspace), VirtualClock(START)
    robot.clock = clock
    (workspace / "drill.toml").write_text(notify_table(robot.url), encoding="utf-8")
    write_fast_drill(workspace, limit="30m", every=2, count=30)
    run_id = start_drill(ws, "fast-drill", clock=clock, by="alice")
    outbox = Outbox(ws, clock, ws.notifiers())
    conductor = Conductor(ws, clock, outbox=outbox)
    conductor.adopt_or_fail(run_id)
    try:  # until every inject is recorded (the deliveries' waits move the clock too)
        conductor.conduct(stop=lambda: sum(e["event"] == "inject.delivered" for e in conductor.events(run_id)) == 30)
    finally:
        conductor.close()
    assert outbox.close(30)
    events = read_events(ws.run_file(run_id))
    assert sum(e["event"] == "inject.delivered" for e in events) == 30
    assert sent_and_failed(events) == ["notify.sent"] * 30
    assert robot.most_within(60) <= 20
    assert robot.refused == 0


# What each platform answers when a robot gets messages too fast, what it answers otherwise, and
# the seconds to wait before the next message (reference: DingTalk throttles for 10 minutes).
RATE_LIMITED: dict[str, tuple[Answer, Answer, float]] = {
    "dingtalk": ((200, DINGTALK_TOO_FAST), (200, DINGTALK_OK), 600),
    "wecom": ((200, b'{"errcode":45009,"errmsg":"api freq out of limit"}'), (200, DINGTALK_OK), 60),
    "feishu": ((200, b'{"code":11232,"msg":"frequency limited"}'), (200, b'{"code":0,"msg":"success"}'), 60),
    "slack": ((429, b"rate_limited", {"Retry-After": "30"}), (200, b"ok"), 30),
}


@pytest.mark.parametrize("fmt", RATE_LIMITED)
def test_after_a_rate_limit_answer_the_next_attempt_waits_out_the_platforms_window(
    ws: Workspace, hook: Hook, fmt: str
) -> None:
    """Its one attempt is not spent on it: the message is sent once the window has passed."""
    refused, accepted, window = RATE_LIMITED[fmt]
    hook.clock = clock = VirtualClock(START)
    hook.script = [refused, accepted]
    record = start_run(ws)
    outbox = Outbox(ws, clock, [webhook(hook.url, format=fmt, attempts=1, events=["inject.delivered"])])
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    [sent] = outcomes(record)
    assert (sent["event"], sent["attempts"]) == ("notify.sent", 2)
    assert (hook.at[1] - hook.at[0]).total_seconds() >= window


def test_a_rate_limit_answer_holds_back_every_message_queued_for_the_robot(ws: Workspace, robot: Robot) -> None:
    """Someone else's messages throttled the robot: ours wait the 10 minutes out instead of failing."""
    robot.clock = clock = VirtualClock(START)
    robot.throttled_until = START.replace(minute=10)
    record = start_run(ws, injects=5)
    outbox = Outbox(ws, clock, [webhook(robot.url, format="dingtalk", events=["inject.delivered"])])
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    assert [e["event"] for e in outcomes(record)] == ["notify.sent"] * 5
    assert robot.refused == 1
    assert min(robot.at[1:]) >= START.replace(minute=10)


def test_each_runs_messages_reach_the_robot_in_the_order_of_its_record(ws: Workspace, hook: Hook) -> None:
    """The first message is refused once (HTTP 500): the others wait for its retry."""
    hook.clock = clock = VirtualClock(START)
    hook.script = [(500, b"busy"), (200, DINGTALK_OK)]
    first, second = start_run(ws, injects=10), start_run(ws, run=OTHER_RUN, injects=10)
    outbox = Outbox(ws, clock, [webhook(hook.url, format="dingtalk", events=["inject.delivered"])])
    outbox.poll(RUN, first.read())
    outbox.poll(OTHER_RUN, second.read())
    assert outbox.close(10)
    for run, record in ((RUN, first), (OTHER_RUN, second)):
        keys = [key for key in hook.idempotency_keys() if key.startswith(f"{run}:")]
        delivered = [f"{run}:{e['seq']}" for e in record.read() if e["event"] == "inject.delivered"]
        assert keys == delivered[:1] * (run == RUN) + delivered
    assert hook.most_within(60) <= 20


def test_two_processes_sending_to_one_robot_share_its_pace(ws: Workspace, robot: Robot) -> None:
    """Two conducting processes of the workspace (two outboxes, which share nothing but
    `logs/notify.pace`), 15 messages each to one robot: 20 in the first minute, all sent."""
    robot.clock = clock = VirtualClock(START)
    records = {RUN: start_run(ws, injects=15), OTHER_RUN: start_run(ws, run=OTHER_RUN, injects=15)}
    notifier = webhook(robot.url, format="dingtalk", events=["inject.delivered"])
    outboxes = {run: Outbox(ws, clock, [notifier]) for run in records}
    for run, outbox in outboxes.items():
        outbox.poll(run, records[run].read())
    assert all(outbox.close(10) for outbox in outboxes.values())
    assert [e["event"] for record in records.values() for e in outcomes(record)] == ["notify.sent"] * 30
    assert robot.most_within(60) <= 20
    assert robot.refused == 0


def test_rate_in_drill_toml_paces_a_robot_that_takes_fewer(ws: Workspace, robot: Robot) -> None:
    """A robot shared with another system: the team keeps drillkit to 5 a minute."""
    robot.clock = clock = VirtualClock(START)
    robot.limit = 5
    (ws.root / "drill.toml").write_text(notify_table(robot.url, 'rate = "5/1m"\n'), encoding="utf-8")
    record = start_run(ws, injects=12)
    outbox = Outbox(ws, clock, ws.notifiers())
    outbox.poll(RUN, record.read())
    assert outbox.close(10)
    assert [e["event"] for e in outcomes(record)] == ["notify.sent"] * 12
    assert robot.most_within(60) <= 5
    assert robot.refused == 0


def unused(*_: object) -> None:
    """A listener for a run that is not conducted (it has ended)."""


def test_a_resume_of_an_ended_run_says_how_many_it_delivered_and_how_many_wait_their_turn(
    ws: Workspace, robot: Robot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 notifications owed to a DingTalk robot: 20 go at once, 5 wait for the next minute."""
    monkeypatch.setattr(conducting, "OWED_WAIT", 3.0)  # not the half minute a user waits
    (ws.root / "drill.toml").write_text(notify_table(robot.url), encoding="utf-8")
    record = start_run(ws, injects=25)
    ended = {"event": "run.ended", "actor": "system", "role": None, "outcome": "aborted", "reason": "test"}
    record.append(lambda events, now: [ended], VirtualClock(START))
    told: list[str] = []
    done = conducting.conduct(
        ws, SystemClock(), RUN, listener=unused, every=unused, watch=lambda: lambda: True, tell=told.append
    )
    assert done is conducting.Conducted.ENDED_BEFORE
    assert told == [
        f"{RUN} has ended (aborted); nothing left to conduct, 20 notification(s) delivered,"
        " 5 left owed in the record for `drill scheduler`"
    ]
    assert [e["event"] for e in outcomes(record)] == ["notify.sent"] * 20
    assert robot.refused == 0


@pytest.mark.parametrize(
    ("fmt", "rate", "rates"),
    [
        ("dingtalk", None, (Rate(20, 60),)),
        ("wecom", None, (Rate(20, 60),)),
        ("feishu", None, (Rate(100, 60), Rate(5, 1))),
        ("slack", None, (Rate(1, 1),)),
        ("json", None, ()),
        ("json", "30/1m", (Rate(30, 60),)),
        ("feishu", ["50/1m", "2/1s"], (Rate(50, 60), Rate(2, 1))),
        ("dingtalk", [], ()),
    ],
)
def test_a_webhook_is_paced_by_its_platforms_limits_unless_drill_toml_says_otherwise(
    fmt: str, rate: Any, rates: tuple[Rate, ...]
) -> None:
    entry = {"name": "a", "kind": "webhook", "url": "https://example.invalid/x", "format": fmt}
    [notifier] = parse_notifiers([entry | ({"rate": rate} if rate is not None else {})])
    assert notifier.rates == rates
