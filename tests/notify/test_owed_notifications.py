"""Notifications still owed for a run that ended while no conductor delivered them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import Drill, command_notifier


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
