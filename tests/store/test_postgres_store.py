"""What the team store's database enforces itself (SPEC §8), shown against a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.model.errors import RecordError
from drillkit.model.provenance import Provenance
from drillkit.plans.library import Plans
from drillkit.services.runs import new_run_id, started_draft
from drillkit.store.port import Decide, Event, RecordStore
from drillkit.store.postgres.connection import ATTEMPTS
from drillkit.store.stores import team_store
from tests.independent_verifier import verify_bytes
from tests.teamdb import TeamDb

PLAYBOOK = "core-network-outage"


def _store(workspace: Path, url: str) -> RecordStore:
    (workspace / "drill.toml").write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    ws = Workspace(workspace)
    return team_store(ws, url)


def _new_run(store: RecordStore, workspace: Path) -> str:
    ws = Workspace(workspace)
    first = started_draft(ws, pb=Plans(ws).playbook(PLAYBOOK), mode="incident", severity="II", by="alice")
    run_id = new_run_id(PLAYBOOK, SystemClock())
    store.create(run_id, first, SystemClock())
    return run_id


def _note(text: str) -> Decide:
    draft: Event = {"event": "note", "actor": "alice", "role": None, "text": text}
    return lambda events, now: [dict(draft)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE drill.line SET line = line || '\\x20'::bytea WHERE seq = 2",
        "DELETE FROM drill.line WHERE seq = 2",
        "TRUNCATE drill.line",
        "TRUNCATE drill.run CASCADE",
        "DELETE FROM drill.run",
        "UPDATE drill.run SET seq = 1",
    ],
)
def test_recorded_lines_cannot_be_changed_even_by_the_owner(team_db: TeamDb, workspace: Path, statement: str) -> None:
    import psycopg

    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    store.append(run_id, _note("evidence"), SystemClock())
    before = store.lines(run_id)
    with team_db.connect(team_db.owner) as owner:
        assert owner.execute("SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'line'").fetchone()[0]
        with pytest.raises(psycopg.Error, match=r"append-only|only moves forward"):
            owner.execute(statement.encode())
    assert team_store(Workspace(workspace), team_db.url).lines(run_id) == before


def test_the_stored_bytes_are_the_bytes_hashed(team_db: TeamDb, workspace: Path) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    store.append(run_id, _note("电话 13812345678"), SystemClock())
    data = store.lines(run_id)
    assert verify_bytes(data, None).verdict == "open"
    with team_db.connect(team_db.owner) as owner:
        kind = owner.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'line' AND column_name = 'line'"
        ).fetchone()[0]
        rows = owner.execute("SELECT line FROM drill.line WHERE run = %s ORDER BY seq", (run_id,)).fetchall()
    assert kind == "bytea"
    assert b"".join(bytes(row[0]) + b"\n" for row in rows) == data
    assert "138****5678" in data.decode()


def test_a_command_retried_with_the_same_req_is_recorded_once(team_db: TeamDb, workspace: Path) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    once = Provenance(req="r-1", origin=None)
    first = store.append(run_id, _note("once"), SystemClock(), once)
    again = team_store(Workspace(workspace), team_db.url).append(run_id, _note("once"), SystemClock(), once)
    assert again == first
    assert [e["event"] for e in store.read(run_id)] == ["run.started", "note"]


def test_a_command_retried_by_a_process_that_saw_its_write_is_recorded_once(team_db: TeamDb, workspace: Path) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    once = Provenance(req="r-1", origin=None)
    first = store.append(run_id, _note("once"), SystemClock(), once)
    assert store.append(run_id, _note("once"), SystemClock(), once) == first
    assert [e["event"] for e in team_store(Workspace(workspace), team_db.url).read(run_id)] == ["run.started", "note"]


def test_an_append_under_a_replaced_scheduler_lease_is_refused(team_db: TeamDb, workspace: Path) -> None:
    from drillkit.store.postgres.connection import database

    store = _store(workspace, team_db.scheduler)
    run_id = _new_run(store, workspace)
    store.append(run_id, _note("while active"), SystemClock())  # this process knows the run's head
    with team_db.connect(team_db.owner) as owner:
        owner.execute("UPDATE drill.lease SET epoch = 2, host = 'standby'")
    database(team_db.scheduler).fence(1)
    with pytest.raises(RecordError, match=r"this scheduler \(epoch 1\) was replaced by epoch 2 on standby"):
        store.append(run_id, _note("late"), SystemClock())
    assert [e.get("text") for e in team_store(Workspace(workspace), team_db.url).read(run_id)] == [None, "while active"]


def test_a_write_the_server_refuses_is_said_to_be_refused_not_a_lost_connection(
    team_db: TeamDb, workspace: Path
) -> None:
    """A full disk on the server answers the write with an error and keeps the connection: the
    command says the server refused it and that nothing was written, not that the connection was
    lost and the write may have been recorded."""
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    refused = r"refused it: could not extend the record of .*no space left on device \(nothing was written"
    with team_db.record_full(run_id, 0), pytest.raises(RecordError, match=refused):
        store.append(run_id, _note("no room"), SystemClock())
    assert [e["seq"] for e in store.read(run_id)] == [1]


def test_a_write_the_server_rolls_back_to_settle_a_deadlock_is_made_again_and_recorded_once(
    team_db: TeamDb, workspace: Path
) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    with team_db.rolled_back(times=2):
        store.append(run_id, _note("after two deadlocks"), SystemClock())
    assert [(e["seq"], e.get("text")) for e in store.read(run_id)][1:] == [(2, "after two deadlocks")]


def test_a_write_rolled_back_at_every_attempt_fails_in_one_line_and_writes_nothing(
    team_db: TeamDb, workspace: Path
) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    with team_db.rolled_back(times=ATTEMPTS), pytest.raises(RecordError, match="rolled it back: deadlock detected"):
        store.append(run_id, _note("never"), SystemClock())
    assert [e["seq"] for e in store.read(run_id)] == [1]


def test_seq_is_unique_per_run_in_the_database(team_db: TeamDb, workspace: Path) -> None:
    import psycopg

    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    with team_db.connect(team_db.owner) as owner, pytest.raises(psycopg.Error):
        owner.execute("INSERT INTO drill.line (run, seq, line) VALUES (%s, 1, '\\x7b7d'::bytea)", (run_id,))


def test_a_reviewer_cannot_append(team_db: TeamDb, workspace: Path) -> None:
    run_id = _new_run(_store(workspace, team_db.url), workspace)
    reviewer = team_store(Workspace(workspace), team_db.reviewer)
    assert not reviewer.writable(run_id)
    assert [e["seq"] for e in reviewer.read(run_id)] == [1]
    with pytest.raises(RecordError, match="refused it: permission denied"):
        reviewer.append(run_id, _note("not allowed"), SystemClock())


LATE_APPENDER = r"""
import sys, time
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.store.stores import team_store

root, url, run = sys.argv[1:4]
store = team_store(Workspace(Path(root)), url)
store.read(run)
time.sleep(0.5)
draft = {"event": "note", "actor": "bob", "role": None, "text": "elsewhere"}
store.append(run, lambda events, now: [draft], SystemClock())
print(time.monotonic())
"""


def test_a_watch_sees_an_append_from_another_process_within_a_second(team_db: TeamDb, workspace: Path) -> None:
    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    args = [sys.executable, "-c", LATE_APPENDER, str(workspace), team_db.url, run_id]
    other = subprocess.Popen(args, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, text=True)
    new = store.watch(run_id, 1, 60.0, SystemClock())
    seen = time.monotonic()
    committed = float(other.communicate(timeout=60)[0])
    assert [e["text"] for e in new] == ["elsewhere"]
    assert seen - committed < 1.0


def test_each_commit_notifies_the_run_and_its_seq(team_db: TeamDb, workspace: Path) -> None:
    import psycopg

    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    with psycopg.connect(team_db.reviewer, autocommit=True) as listening:
        listening.execute("LISTEN drill_appended")
        store.append(run_id, _note("heard"), SystemClock())
        heard = [n.payload for n in listening.notifies(timeout=5.0, stop_after=1)]
    assert heard == [f"{run_id} 2"]


def test_a_conductor_lock_lost_with_its_session_is_taken_again(team_db: TeamDb, workspace: Path) -> None:
    from tests.store.test_record_contract import CONDUCTOR

    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    release = store.conduct(run_id)
    assert release is not None
    team_db.cut_listeners()
    time.sleep(1.1)  # the session is looked at once a second
    assert store.conducting(run_id)
    other = subprocess.run(
        [sys.executable, "-c", CONDUCTOR, "postgres", str(workspace), run_id],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert other.stdout.strip() == "held"
    release()


def test_a_conductor_lock_another_session_took_meanwhile_is_lost(team_db: TeamDb, workspace: Path) -> None:
    from drillkit.store.postgres.records import CONDUCT_LOCK

    store = _store(workspace, team_db.url)
    run_id = _new_run(store, workspace)
    release = store.conduct(run_id)
    assert release is not None
    team_db.cut_listeners()
    with team_db.connect(team_db.url) as rival:
        taken = rival.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (CONDUCT_LOCK, run_id)).fetchone()
        assert taken == (True,)
        time.sleep(1.1)
        assert not store.conducting(run_id)
        release()  # lets go of nothing: the rival's lock stands
        still = rival.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
        ).fetchone()
        assert still == (1,)
        rival_pid = rival.info.backend_pid
    _wait_for_session_end(team_db, rival_pid)  # a closed connection's server process ends a moment later
    assert store.conduct(run_id) is not None  # the rival gone, it is free again


def _wait_for_session_end(team_db: TeamDb, pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with team_db.connect() as admin:
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() != (0,):
            assert time.monotonic() < deadline, f"session {pid} still there after {timeout:g} s"
            time.sleep(0.02)


def test_drill_sessions_commit_durably_and_compile_no_query(team_db: TeamDb, workspace: Path) -> None:
    """Every acknowledged append is durable whatever the server's default, and no listing pays for
    the server's JIT compiler (on 1,000 runs it doubled `drill runs`' query: 200 ms against 90 ms)."""
    store = _store(workspace, team_db.url)
    _new_run(store, workspace)
    with store.db.statement() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT current_setting('synchronous_commit'), current_setting('jit')")
        assert cursor.fetchone() == ("on", "off")
