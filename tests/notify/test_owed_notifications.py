"""Notifications still owed for a run that ended while no conductor delivered them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock, VirtualClock
from drillkit.notify.outbox import outcome_draft
from drillkit.notify.senders import Outcome
from drillkit.services.conductor import Conductor
from drillkit.services.daemon import RunConducting
from drillkit.services.drills import start_drill
from drillkit.store.files import RunRecord
from drillkit.store.stores import open_store
from tests.conftest import DRILL, Drill, command_notifier, read_events
from tests.notify.conftest import DINGTALK_OK, Hook
from tests.notify.test_notify import RUN, START, outcomes, start_run
from tests.services.test_drills import only_run, write_fast_drill


def test_the_scheduler_delivers_what_an_ended_run_still_owes(drill: Drill, tmp_path: Path) -> None:
    log = command_notifier(drill.root, tmp_path, ["run.ended"])
    run_id = drill.open()
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True)
    ended = drill.events(run_id)[-1]
    assert ended["event"] == "run.ended"

    drill("scheduler", "--once", ok=True)

    assert log.read_text(encoding="utf-8").split() == [f"{run_id}:{ended['seq']}"]
    last = drill.events(run_id)[-1]
    assert (last["event"], last["notifier"], last["of"]) == ("notify.sent", "pager", ended["seq"])
    drill("scheduler", "--once", ok=True)  # owed once: nothing is sent again
    assert log.read_text(encoding="utf-8").split() == [f"{run_id}:{ended['seq']}"]


DUMPER = """\
import sys
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(sys.stdin.read() + "\\n")
"""


def test_run_started_tells_a_notifier_the_scenario_by_name_never_its_script(drill: Drill, tmp_path: Path) -> None:
    """An unannounced drill stays unannounced: the notifier learns a drill began, not what will
    be injected, when, or what answer is expected."""
    dumper, payloads = tmp_path / "dump.py", tmp_path / "payloads.jsonl"
    dumper.write_text(DUMPER, encoding="utf-8")
    command = json.dumps([sys.executable, str(dumper), str(payloads)])
    (drill.root / "drill.toml").write_text(
        f'[[notify]]\nname = "pager"\nkind = "command"\ncommand = {command}\n'
        'events = ["run.started"]\nmodes = ["drill"]\n',
        encoding="utf-8",
    )
    run_id = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True).stdout.strip()
    drill("abort", run_id, "--by", "alice", "--reason", "payload check", ok=True)
    drill("resume", run_id, ok=True)  # delivers what the ended run still owes
    (payload,) = [json.loads(line) for line in payloads.read_text(encoding="utf-8").splitlines()]
    assert payload["event"]["event"] == "run.started"
    assert payload["event"]["scenario"] == {"scenario": "core-outage-q4", "title": "Q4 core network outage drill"}
    said = json.dumps(payload, ensure_ascii=False)
    for secret in ("MME pool BJ-3", "complaint volume", "SMS sent", '"expect"', '"script"', '"injects"'):
        assert secret not in said, secret
    assert payload["text"].startswith("[DRILL / 演练]")


def _wait_until(what: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_running_scheduler_delivers_what_a_drill_that_ended_later_left_owed(drill: Drill, hook: Hook) -> None:
    """A foreground drill ends while its chat robot is down and leaves `run.ended` owed for `drill
    scheduler`: the scheduler already running delivers it once the robot is back, not only after a
    restart."""
    hook.script = [(503, b"down")]
    (drill.root / "drill.toml").write_text(
        f'[[notify]]\nname = "noc-group"\nkind = "webhook"\nformat = "dingtalk"\nurl = "{hook.url}"\n'
        'events = ["run.ended"]\nattempts = 20\nbackoff = 0.5\n',
        encoding="utf-8",
    )
    write_fast_drill(drill.root, limit="1h", every=30, count=1)
    foreground = subprocess.Popen(
        [str(DRILL), "start", "fast-drill", "--by", "alice"],
        env=drill.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    scheduler_log = drill.root / "logs" / "scheduler.jsonl"
    scheduler: subprocess.Popen[bytes] | None = None
    try:
        assert _wait_until(lambda: any((drill.root / "logs" / "runs").glob("*.jsonl")), 10)
        scheduler = subprocess.Popen(
            [str(DRILL), "scheduler"], env=drill.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert _wait_until(lambda: scheduler_log.is_file() and "schedules.loaded" in scheduler_log.read_text(), 10)
        run_id = only_run(drill.root)
        drill("abort", run_id, "--by", "alice", "--reason", "called off", ok=True)  # the drill ends now
        _, told = foreground.communicate(timeout=30)
        assert "1 notification(s) pending: left owed in the record for `drill scheduler`" in told
        ended = next(e for e in drill.events(run_id) if e["event"] == "run.ended")

        hook.script = [(200, DINGTALK_OK)]  # the robot is back
        sent = _wait_until(lambda: any(e["event"] == "notify.sent" for e in drill.events(run_id)), 8)
    finally:
        foreground.kill()
        if scheduler is not None:
            scheduler.send_signal(signal.SIGTERM)
            scheduler.wait(timeout=30)
    assert sent, "the running scheduler left run.ended owed"
    outcome = drill.events(run_id)[-1]
    assert (outcome["event"], outcome["notifier"], outcome["of"]) == ("notify.sent", "noc-group", ended["seq"])
    assert hook.idempotency_keys()[-1] == f"{run_id}:{ended['seq']}"


ENDED = {"event": "run.ended", "actor": "system", "role": None, "outcome": "aborted", "reason": "test"}


def _end(record: RunRecord) -> int:
    """`run.ended` appended; its seq."""
    return int(record.append(lambda events, now: [ENDED], VirtualClock(START))[-1]["seq"])


def test_the_scheduler_leaves_an_ended_run_to_the_drill_handing_over_its_deliveries(ws: Workspace, hook: Hook) -> None:
    """While a foreground drill still holds the run (its last deliveries under way) the running
    scheduler does not send them too: it reads the record once the drill has let go."""
    (ws.root / "drill.toml").write_text(
        f'[[notify]]\nname = "noc-group"\nkind = "webhook"\nurl = "{hook.url}"\nevents = ["run.ended"]\n',
        encoding="utf-8",
    )
    record = start_run(ws)
    scheduler = RunConducting(ws, SystemClock(), report=print)
    release = open_store(ws, conducting=True).conduct(RUN)  # the foreground drill's conductor lock
    assert release is not None
    try:
        assert scheduler.open_runs() == [RUN]
        seq = _end(record)
        assert scheduler.open_runs() == []  # found ended, but held
        sent = outcome_draft("noc-group", seq, Outcome(ok=True, attempts=1))
        record.append(lambda events, now: [sent], VirtualClock(START))  # the drill delivered it
    finally:
        release()
    scheduler.open_runs()
    scheduler.close()
    assert hook.got == []
    assert [(e["event"], e["of"]) for e in outcomes(record)] == [("notify.sent", seq)]


def test_a_foreground_conductor_keeps_the_run_until_it_lets_go(workspace: Path) -> None:
    ws, clock = Workspace(workspace), VirtualClock(START)
    write_fast_drill(workspace, limit="1m", every=30, count=1)
    run_id = start_drill(ws, "fast-drill", clock=clock, by="alice")
    conductor = Conductor(ws, clock, hold=True)
    conductor.adopt_or_fail(run_id)
    conductor.conduct()  # to the run's end
    conductor.close()
    assert read_events(ws.run_file(run_id))[-1]["event"] == "run.ended"
    assert open_store(ws, conducting=True).conduct(run_id) is None  # no one else delivers for it yet
    conductor.let_go()
    assert open_store(ws, conducting=True).conduct(run_id) is not None
