"""Corrective actions in the team store (SPEC §8, §10): opened on one "host" (a workspace folder
of its own, processes of its own), seen, updated and closed from another, kept as the same
hash-chained lines `logs/actions.jsonl` would hold, with no file written; appends from two
processes at once take turns; a reviewer reads but cannot write; recorded lines cannot be
changed, even by the tables' owner."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from tests.conftest import DRILL, Drill, command_notifier
from tests.e2e.test_evaluation import START, assert_chained, at, observe, run_drill
from tests.e2e.test_verify_actions import add_a_key
from tests.teamdb import TeamDb

TITLE = "Refresh the on-call phone list"


def on_team_store(drill: Drill, url: str) -> Drill:
    """The workspace pointed at the team store in its `drill.toml`, as every machine of a team is."""
    (drill.root / "drill.toml").write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    return drill


def other_host(tmp_path: Path, url: str) -> Drill:
    """A second workspace (another machine's folder) on the same team store."""
    root = tmp_path / "other-host"
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True, timeout=60)
    return on_team_store(Drill(root), url)


def stored_lines(team_db: TeamDb) -> list[bytes]:
    with team_db.connect() as conn:
        return [bytes(row[0]) for row in conn.execute("SELECT line FROM drill.action_line ORDER BY seq")]


def add_action(drill: Drill, run_id: str, *, due: str, when: str) -> str:
    added = drill(
        "action", "add", "--from", f"{run_id}:mitigate", "--title", TITLE, "--owner", "lead=alice",
        "--due", due, "--by", "risk", ok=True, DRILL_FAKE_NOW=when,
    )  # fmt: skip
    return added.stdout.strip()


def listed(drill: Drill, *options: str, now: str | None = None, **env: str) -> list[dict[str, object]]:
    clock = {"DRILL_FAKE_NOW": now} if now else {}
    return list(json.loads(drill("action", "list", *options, "--json", ok=True, **clock, **env).stdout))


@pytest.mark.slow
def test_an_action_opened_on_one_host_is_followed_and_closed_from_another(
    drill: Drill, team_db: TeamDb, tmp_path: Path
) -> None:
    east, west = on_team_store(drill, team_db.url), other_host(tmp_path, team_db.url)
    run_id = run_drill(east, START)
    observe(east, run_id, "mitigate", "M", "erin", when=at(START, 60))
    assert add_action(east, run_id, due="2026-12-15", when=at(START, 90)) == "A-1"

    seen = listed(west)
    assert [(a["action"], a["title"], a["from_run"], a["status"]) for a in seen] == [("A-1", TITLE, run_id, "open")]
    west("action", "update", "A-1", "--status", "in-progress", "--note", "list exported from HR", "--by", "alice",
         ok=True, DRILL_FAKE_NOW=at(START, 60 * 24))  # fmt: skip
    assert json.loads(east("action", "show", "A-1", ok=True).stdout)["status"] == "in-progress"
    assert [a["action"] for a in listed(west, "--overdue", now="2026-12-16T09:00:00Z")] == ["A-1"]
    assert listed(east, "--overdue", now="2026-12-15T09:00:00Z") == []

    later = START + timedelta(days=14)
    retest = run_drill(west, later)
    observe(west, retest, "mitigate", "S", "frank", when=at(later, 60))
    west("action", "close", "A-1", "--retest", retest, "--by", "risk", ok=True, DRILL_FAKE_NOW=at(later, 90))
    shown = json.loads(east("action", "show", "A-1", ok=True).stdout)
    assert (shown["status"], shown["retest"]) == ("closed", retest)
    plan = east("export", run_id, "--format", "md", ok=True).stdout.split("## Improvement plan\n", 1)[1]
    assert f"| A-1 | mitigate | {TITLE} | lead=alice | 2026-12-15 | closed (retest passed) |" in plan

    assert_chained(stored_lines(team_db), ["action.opened", "action.updated", "action.closed"])
    status = json.loads(west("store", "status", "--json", ok=True).stdout)
    assert status["action_lines"] == 3
    for host in (east, west):
        assert not (host.root / "logs" / "actions.jsonl").exists()


# One "host" opening actions again and again, each `drill action add` a process of its own.
ADDER = r"""
import subprocess, sys
drill, run, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(count):
    args = ["action", "add", "--from", run, "--title", f"{tag}-{i}", "--owner", "lead=alice",
            "--due", "2027-01-15", "--by", "risk"]
    print(subprocess.run([drill, *args], capture_output=True, text=True).stdout.strip())
"""
ADDS = 5  # per host


@pytest.mark.slow
def test_two_hosts_opening_actions_at_once_never_repeat_an_id(drill: Drill, team_db: TeamDb, tmp_path: Path) -> None:
    east, west = on_team_store(drill, team_db.url), other_host(tmp_path, team_db.url)
    run_id = run_drill(east, START)
    hosts = [
        subprocess.Popen(
            ["python3", "-c", ADDER, str(DRILL), run_id, host.root.name, str(ADDS)],
            env=host.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for host in (east, west)
    ]
    ids = [line for host in hosts for line in host.communicate(timeout=300)[0].split()]
    assert sorted(ids) == sorted(f"A-{n}" for n in range(1, 2 * ADDS + 1))
    assert_chained(stored_lines(team_db), ["action.opened"] * 2 * ADDS)
    titles = {a["title"] for a in listed(west)}
    assert titles == {f"{host.root.name}-{i}" for host in (east, west) for i in range(ADDS)}


def opened_with_an_action(drill: Drill) -> str:
    """An incident opened on the team store, with corrective action A-1 from it; its run id."""
    run_id = drill.open()
    drill(
        "action", "add", "--from", run_id, "--title", TITLE, "--owner", "lead=alice", "--due", "2027-01-15",
        "--by", "risk", ok=True,
    )  # fmt: skip
    return run_id


def test_a_reviewer_reads_actions_but_cannot_open_one(drill: Drill, team_db: TeamDb) -> None:
    run_id = opened_with_an_action(on_team_store(drill, team_db.url))
    reviewer = on_team_store(drill, team_db.reviewer)
    assert [a["action"] for a in listed(reviewer)] == ["A-1"]
    reported = json.loads(reviewer("report", "--format", "json", ok=True).stdout)
    assert reported["actions"]["overall"] == {"opened": 1, "closed": 0, "overdue": 0}
    refused = reviewer(
        "action", "add", "--from", run_id, "--title", "by a reviewer", "--owner", "lead=alice",
        "--due", "2027-01-15", "--by", "rita",
    )  # fmt: skip
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "refused it: permission denied" in refused.stderr
    assert len(stored_lines(team_db)) == 1


CHANGES = [
    "UPDATE drill.action_line SET line = line",
    "DELETE FROM drill.action_line",
    "TRUNCATE drill.action_line",
    "UPDATE drill.action_head SET seq = 0",
    "DELETE FROM drill.action_head",
    "TRUNCATE drill.action_head",
]


def test_recorded_action_lines_cannot_be_changed_even_by_the_owner(drill: Drill, team_db: TeamDb) -> None:
    responder = on_team_store(drill, team_db.url)
    opened_with_an_action(responder)
    before = stored_lines(team_db)
    for statement in CHANGES:
        with team_db.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.encode())
    assert stored_lines(team_db) == before
    assert [a["action"] for a in listed(responder)] == ["A-1"]


def test_the_active_scheduler_claims_an_overdue_notice_once_a_day_in_the_team_store(
    drill: Drill, team_db: TeamDb, tmp_path: Path
) -> None:
    run_id = opened_with_an_action(on_team_store(drill, team_db.url))
    store = f'[store]\nurl = "{team_db.scheduler}"\n'
    received = command_notifier(drill.root, tmp_path, ["action.overdue"], extra=store)

    def scheduler_pass(now: str) -> list[str]:
        drill("scheduler", "--once", ok=True, DRILL_FAKE_NOW=now)
        return received.read_text(encoding="utf-8").split() if received.exists() else []

    assert scheduler_pass("2027-01-15T09:00:00Z") == []  # due today: not yet overdue
    first = scheduler_pass("2027-01-16T09:00:00Z")
    assert len(first) == 1
    assert scheduler_pass("2027-01-16T17:00:00Z") == first  # once that day
    kinds = [json.loads(line)["event"] for line in stored_lines(team_db)]
    assert kinds == ["action.opened", "action.overdue", "notify.sent"]
    assert json.loads(stored_lines(team_db)[1])["from_run"] == run_id


def test_push_all_brings_the_local_actions_ledger_verified_and_once(
    drill: Drill, team_db: TeamDb, tmp_path: Path
) -> None:
    opened_with_an_action(drill)  # in files: logs/runs and logs/actions.jsonl
    ledger = drill.root / "logs" / "actions.jsonl"
    first = drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    assert "logs/actions.jsonl: 1 lines pushed" in first.stdout
    again = drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    assert "logs/actions.jsonl: already in the team store" in again.stdout
    assert stored_lines(team_db) == ledger.read_bytes().splitlines()
    assert [a["action"] for a in listed(drill, DRILL_STORE=team_db.url)] == ["A-1"]

    elsewhere = other_host(tmp_path, team_db.url)
    (elsewhere.root / "drill.toml").unlink()  # a workspace of its own files, with its own A-1
    opened_with_an_action(elsewhere)
    refused = elsewhere("store", "push", "--all", DRILL_STORE=team_db.url)
    assert refused.returncode == 1
    assert "holds other corrective actions than logs/actions.jsonl" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr  # the refusal, after its run pushed:
    assert refused.stdout.endswith(": 1 lines pushed\n")

    original = ledger.read_bytes()
    ledger.write_bytes(original.replace(TITLE.encode(), b"Forget the phone list"))
    tampered = drill("store", "push", "--all", DRILL_STORE=team_db.url)
    assert tampered.returncode == 1
    problem = "hash check failed: the line's bytes do not match its hash"
    assert f"logs/actions.jsonl: tampered at line 1: {problem}" in tampered.stderr
    assert stored_lines(team_db) == original.splitlines()


def test_push_takes_a_ledger_begun_before_the_key_and_the_store_keeps_its_chain(drill: Drill, team_db: TeamDb) -> None:
    opened_with_an_action(drill)  # in files, with no key yet
    add_a_key(drill)
    pushed = drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    assert "logs/actions.jsonl: 1 lines pushed" in pushed.stdout
    drill("action", "update", "A-1", "--status", "in-progress", "--note", "list exported", "--by", "alice",
          ok=True, DRILL_STORE=team_db.url)  # fmt: skip
    assert len(stored_lines(team_db)) == 2
    unkeyed = drill("verify", "actions", DRILL_STORE=team_db.reviewer)
    assert unkeyed.returncode == 1
    assert unkeyed.stdout.startswith("actions: unkeyed (plain SHA-256, not the workspace key;")
    drill("verify", "actions", "--accept-unkeyed", "actions", ok=True, DRILL_STORE=team_db.reviewer)
