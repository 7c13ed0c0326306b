"""Notifications still owed for a run that ended while no conductor delivered them."""

from __future__ import annotations

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
