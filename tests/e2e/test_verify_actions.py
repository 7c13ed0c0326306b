"""`drill verify` checks the corrective actions' ledger (SPEC §10: a hash-chained record of its
own under §4's rules) as a reviewer runs it: with `--all`, or alone as `drill verify actions`, in
files and in the team store; a changed, deleted or moved line is `tampered` at that line, exit 1."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Drill
from tests.teamdb import TeamDb

LINE_2 = "actions: tampered at line 2"


def with_actions(drill: Drill, **env: str) -> str:
    """An incident with two actions opened from it and the first one updated (three ledger lines); its run id."""
    run_id = drill.open(**env)
    for title in ("Refresh the on-call phone list", "Rehearse the bridge hand-over"):
        drill(
            "action", "add", "--from", run_id, "--title", title, "--owner", "lead=alice", "--due", "2027-01-15",
            "--by", "alice", ok=True, **env,
        )  # fmt: skip
    update = ("update", "A-1", "--status", "in-progress", "--note", "list exported")
    drill("action", *update, "--by", "alice", ok=True, **env)
    return run_id


def ledger(drill: Drill) -> Path:
    return drill.root / "logs" / "actions.jsonl"


def test_a_workspace_with_actions_verifies_ok_with_all_and_alone(drill: Drill) -> None:
    run_id = with_actions(drill)
    every = drill("verify", "--all", ok=True).stdout.splitlines()
    assert every[0].startswith(f"{run_id}: open")
    assert every[1].startswith("actions: ok — 3 events, head ")
    assert drill("verify", ok=True).stdout.splitlines() == every
    alone = drill("verify", "actions", ok=True).stdout.splitlines()
    assert alone == every[1:]
    document = json.loads(drill("verify", "actions", "--json", ok=True).stdout)
    assert document == [
        {
            "run": None,
            "actions": {"events": 3, "head": every[1].rsplit(" ", 1)[1], "torn_bytes": 0, "chain": "sha256"},
            "verdict": "ok",
            "line": None,
            "problem": None,
        }
    ]


def test_an_action_the_disk_cannot_hold_fails_in_one_line_and_leaves_the_ledger_as_it_was(drill: Drill) -> None:
    with_actions(drill)
    before = ledger(drill).read_bytes()
    update = ("update", "A-1", "--status", "open", "--note", "the list is out to every shift " * 5)
    done = drill.on_a_full_disk(len(before) + 50, "action", *update, "--by", "alice")
    assert done.returncode == 1
    assert done.stderr.startswith("drill: short write to the record"), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert ledger(drill).read_bytes() == before
    drill("verify", "actions", ok=True)
    drill("action", *update, "--by", "alice", ok=True)
    assert drill("verify", "actions", ok=True).stdout.startswith("actions: ok — 4 events")


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ((b'"due":"2027-01-15"', b'"due":"soon"'), "line 1 of actions.jsonl cannot be read as an action: due 'soon'"),
        ((b'"due":"2027-01-15"', b'"due":null'), "line 1 of actions.jsonl cannot be read as an action: due None"),
        ((b'"event":"action.opened",', b""), "line 1 of actions.jsonl cannot be read as an action: missing 'event'"),
    ],
    ids=["due-text", "due-null", "no-event"],
)
def test_a_ledger_line_edited_out_of_shape_is_named_by_every_command_that_reads_it(
    drill: Drill, edit: tuple[bytes, bytes], says: str
) -> None:
    with_actions(drill)
    path = ledger(drill)
    first, *rest = path.read_bytes().splitlines(keepends=True)
    assert edit[0] in first
    path.write_bytes(b"".join([first.replace(*edit), *rest]))
    for command in (("action", "list"), ("action", "show", "A-1"), ("report",), ("coverage",)):
        done = drill(*command)
        assert done.returncode == 1, (command, done.stderr)
        assert done.stderr.startswith(f"drill: {says}"), (command, done.stderr)
        assert len(done.stderr.splitlines()) == 1


def flip_a_byte(lines: list[bytes]) -> list[bytes]:
    return [lines[0], lines[1].replace(b"Rehearse", b"Reheerse"), *lines[2:]]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (flip_a_byte, "hash check failed: the line's bytes do not match its hash"),
        (lambda lines: [lines[0], *lines[2:]], "chain check failed: prev is not the previous line's hash"),
        (lambda lines: [lines[0], lines[2], lines[1]], "chain check failed: prev is not the previous line's hash"),
    ],
    ids=["byte-flipped", "line-deleted", "lines-reordered"],
)
def test_a_changed_ledger_fails_verify_naming_the_line(
    drill: Drill, change: Callable[[list[bytes]], list[bytes]], problem: str
) -> None:
    run_id = with_actions(drill)
    lines = ledger(drill).read_bytes().splitlines()
    ledger(drill).write_bytes(b"".join(line + b"\n" for line in change(lines)))

    every = drill("verify", "--all")
    assert every.returncode == 1
    assert every.stdout.splitlines()[0].startswith(f"{run_id}: open")  # the runs are still verified
    assert f"{LINE_2}: {problem}" in every.stdout
    alone = drill("verify", "actions", "--json")
    assert alone.returncode == 1
    [verdict] = json.loads(alone.stdout)
    assert (verdict["verdict"], verdict["line"], verdict["problem"]) == ("tampered", 2, problem)


def test_a_torn_last_line_is_counted_not_tampered(drill: Drill) -> None:
    with_actions(drill)
    with ledger(drill).open("ab") as tail:
        tail.write(b'{"v":1,"seq":4,"ts":')
    done = drill("verify", "actions", ok=True)
    assert done.stdout.startswith("actions: ok (torn tail of 20 bytes, set aside on the next append) — 3 events")


def test_a_ledger_that_cannot_be_read_gets_no_verdict_and_the_runs_still_do(drill: Drill) -> None:
    run_id = drill.open()
    ledger(drill).mkdir()  # in the way of the file: no one can read it
    done = drill("verify", "--all", ok=False)
    assert done.returncode == 2
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [run_id]
    assert done.stderr == "drill: cannot read actions.jsonl: Is a directory\n"
    ledger(drill).rmdir()  # the workspace's own check at the end reads every record


def test_no_actions_is_nothing_to_verify(drill: Drill) -> None:
    run_id = drill.open()
    every = drill("verify", "--all", ok=True)
    assert [line.split(":")[0] for line in every.stdout.splitlines()] == [run_id]
    alone = drill("verify", "actions", "--json", ok=True)
    assert json.loads(alone.stdout) == []
    assert alone.stderr == "drill: no corrective actions are recorded: the actions' ledger has nothing to verify\n"
    assert not ledger(drill).exists()


def test_actions_cannot_be_named_with_all(drill: Drill) -> None:
    refused = drill("verify", "--all", "actions")
    assert (refused.returncode, refused.stderr) == (2, "drill: give run ids or `actions`, or --all, not both\n")


def test_the_team_stores_ledger_is_verified_and_a_changed_row_fails(drill: Drill, team_db: TeamDb) -> None:
    team = {"DRILL_STORE": team_db.url}
    with_actions(drill, **team)
    assert not ledger(drill).exists()  # in the team store, not in a file
    assert "actions: ok — 3 events" in drill("verify", "--all", ok=True, DRILL_STORE=team_db.reviewer).stdout

    with team_db.connect() as conn:  # an administrator going around drillkit's triggers
        conn.execute("ALTER TABLE drill.action_line DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE drill.action_line"
            " SET line = convert_to(replace(convert_from(line, 'UTF8'), 'Rehearse', 'Reheerse'), 'UTF8') WHERE seq = 2"
        )
        conn.execute("ALTER TABLE drill.action_line ENABLE TRIGGER USER")
    done = drill("verify", "actions", DRILL_STORE=team_db.reviewer)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{LINE_2}: hash check failed")


def add_a_key(drill: Drill) -> None:
    """The workspace gets an HMAC key in `drill.toml` (after whatever it has recorded)."""
    (drill.root / "drill.key").write_bytes(b"s3cret-key-material")
    toml = drill.root / "drill.toml"
    before = toml.read_text(encoding="utf-8") if toml.exists() else ""
    toml.write_text(f'{before}[integrity]\nkey_file = "drill.key"\n', encoding="utf-8")


def test_actions_recorded_before_the_key_stay_plain_and_are_unkeyed_not_tampered(
    drill: Drill, kept_in: dict[str, str]
) -> None:
    run_id = with_actions(drill, **kept_in)
    add_a_key(drill)
    drill(
        "action", "update", "A-2", "--status", "in-progress", "--note", "drafted", "--by", "alice", ok=True, **kept_in
    )

    unkeyed = drill("verify", "actions", ok=False, **kept_in)
    assert unkeyed.returncode == 1
    assert unkeyed.stdout.startswith(
        "actions: unkeyed (plain SHA-256, not the workspace key; `--accept-unkeyed actions` if it predates the key)"
        " — 4 events, head "
    )
    [verdict] = json.loads(drill("verify", "actions", "--json", ok=False, **kept_in).stdout)
    assert (verdict["verdict"], verdict["line"], verdict["actions"]["chain"]) == ("unkeyed", None, "sha256")

    accepted = drill("verify", "actions", "--accept-unkeyed", "actions", ok=True, **kept_in)
    assert accepted.stdout.startswith(
        "actions: ok (plain SHA-256, accepted as older than the workspace key) — 4 events"
    )
    every = drill("verify", "--all", "--accept-unkeyed", run_id, "--accept-unkeyed", "actions", ok=True, **kept_in)
    assert "tampered" not in every.stdout
    assert "actions: ok (plain SHA-256, accepted" in every.stdout


def plain_line(keyed: bytes) -> bytes:
    """The line re-hashed with plain SHA-256, as anyone without the key can."""
    body = keyed[: keyed.rfind(b',"hash":"')]
    return body + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'


def test_a_keyed_ledger_verifies_ok_and_a_plain_line_spliced_in_is_tampered(drill: Drill) -> None:
    add_a_key(drill)
    with_actions(drill)
    done = drill("verify", "actions", "--json", ok=True)
    [verdict] = json.loads(done.stdout)
    assert (verdict["verdict"], verdict["actions"]["chain"]) == ("ok", "hmac-sha256")

    lines = ledger(drill).read_bytes().splitlines()
    ledger(drill).write_bytes(b"".join(line + b"\n" for line in [lines[0], plain_line(lines[1]), lines[2]]))
    spliced = drill("verify", "actions", "--accept-unkeyed", "actions")
    assert spliced.returncode == 1
    assert spliced.stdout.startswith(
        f"{LINE_2}: hash check failed: the line's bytes do not match its hash"
        " (the line is chained with plain SHA-256, the ledger with the workspace key)"
    )


def test_a_keyed_ledger_takes_no_plain_line_when_the_key_is_gone(drill: Drill) -> None:
    add_a_key(drill)
    run_id = with_actions(drill)
    before, toml = ledger(drill).read_bytes(), drill.root / "drill.toml"
    keyed = toml.read_bytes()
    toml.unlink()
    add = ("action", "add", "--from", run_id, "--title", "Plain", "--owner", "lead=alice", "--due", "2027-01-15")
    refused = drill(*add, "--by", "alice")
    assert refused.returncode == 2
    assert refused.stderr.startswith("drill: the corrective actions' ledger is not chained with plain SHA-256")
    assert len(refused.stderr.splitlines()) == 1
    assert ledger(drill).read_bytes() == before
    toml.write_bytes(keyed)  # the key back: the run's record verifies again
    drill("verify", "--all", ok=True)
