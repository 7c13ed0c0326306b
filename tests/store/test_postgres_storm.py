"""Connections killed during a storm of appends (SPEC §8): every append either reports success
and its event is there exactly once, or fails in one line and nothing of it is there; a retry
with the same `req` adds nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.plans.library import Plans
from drillkit.services.runs import new_run_id, started_draft
from drillkit.store.stores import team_store
from tests.teamdb import TeamDb

APPENDS = 150

# Appends notes, each with its own req, and says how each went: argv = root, url, run, count, pass.
APPENDER = r"""
import sys
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.model.errors import DrillError
from drillkit.model.provenance import Provenance
from drillkit.store.stores import team_store

root, url, run, count, tag = sys.argv[1:6]
store = team_store(Workspace(Path(root)), url)
for i in range(int(count)):
    draft = {"event": "note", "actor": "alice", "role": None, "text": f"n{i}"}
    try:
        written = store.append(
            run, lambda events, now: [dict(draft)], SystemClock(), Provenance(req=f"req-{i}", origin=None)
        )
        print(f"ok {i} {written[-1]['seq']}", flush=True)
    except DrillError as failed:
        message = str(failed)
        print(f"fail {i} {len(message.splitlines())}", flush=True)
"""


def _storm(root: Path, url: str, run: str, tag: str) -> subprocess.Popen[str]:
    args = [str(root), url, run, str(APPENDS), tag]
    return subprocess.Popen(
        [sys.executable, "-c", APPENDER, *args], cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, text=True
    )


def _kill_drill_connections(owner: object, database: str) -> int:
    rows = owner.execute(  # type: ignore[attr-defined]
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND application_name = 'drill' AND pid <> pg_backend_pid()",
        (database,),
    ).fetchall()
    return len(rows)


@pytest.mark.slow
def test_killed_connections_never_record_a_command_twice_or_half(team_db: TeamDb, workspace: Path) -> None:
    ws = Workspace(workspace)
    store = team_store(ws, team_db.url)
    first = started_draft(ws, pb=Plans(ws).playbook("core-network-outage"), mode="incident", severity="II", by="a")
    run = new_run_id("core-network-outage", SystemClock())
    store.create(run, first, SystemClock())

    appender = _storm(workspace, team_db.url, run, "storm")
    killed = 0
    with team_db.connect(team_db.owner) as owner:
        while appender.poll() is None:
            killed += _kill_drill_connections(owner, team_db.name)
            time.sleep(0.1)
    outcomes = [line.split() for line in appender.communicate()[0].splitlines()]
    assert appender.returncode == 0
    assert len(outcomes) == APPENDS
    assert killed > 0

    texts = [str(e.get("text")) for e in team_store(ws, team_db.url).read(run)[1:]]
    for kind, i, detail in outcomes:
        if kind == "ok":
            assert texts.count(f"n{i}") == 1, i
        else:
            assert detail == "1"  # one line
            assert texts.count(f"n{i}") == 0, i
    assert sum(1 for kind, *_ in outcomes if kind == "ok") > 0

    retry = _storm(workspace, team_db.url, run, "retry")  # every command again, with the same req
    retry.communicate(timeout=300)
    assert retry.returncode == 0
    after = [str(e.get("text")) for e in team_store(ws, team_db.url).read(run)[1:]]
    assert sorted(after) == sorted(f"n{i}" for i in range(APPENDS))
