"""Seals in team mode (SPEC §8, §9): the seals, the ledger and its checkpoint live in the team
store, written by the processes that hold the key, and `drill verify` gives the same verdicts as
over files. The database refuses to change or remove them, the owner included; an owner who
turns the triggers off and cuts, rolls back or deletes is caught by the seals."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Drill
from tests.e2e.test_seals import _verify_bundle
from tests.teamdb import TeamDb

SEAL_TABLES = ("drill.seal", "drill.seal_ledger", "drill.seal_checkpoint")


@dataclass(frozen=True)
class Team:
    """A workspace with a seal key whose records live in the test's database (as a responder)."""

    drill: Drill
    db: TeamDb
    run: str  # sealed part-way (`drill keys seal`) and at its end
    kept: Path  # the checkpoint a reviewer kept after the end

    def __call__(self, *args: str, ok: bool | None = None, url: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.drill(*args, ok=ok, DRILL_STORE=url or self.db.url)

    def verify(self, *args: str) -> tuple[int, dict[str | None, dict[str, Any]]]:
        done = self("verify", "--all", "--json", *args)
        return done.returncode, {entry["run"]: entry for entry in json.loads(done.stdout)}

    def owner(self, *steps: tuple[str, tuple[Any, ...]]) -> None:
        """Statements run as the database's owner, with the triggers of every drillkit table off:
        what an administrator who goes around drillkit can do."""
        tables = ("drill.run", "drill.line", "drill.command", *SEAL_TABLES)
        with self.db.connect() as conn:
            for table in tables:
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
            for statement, params in steps:
                conn.execute(statement.encode(), params)
            for table in tables:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER".encode())

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows of a query, as the owner."""
        with self.db.connect() as conn:
            return [tuple(row) for row in conn.execute(query.encode(), params)]


@pytest.fixture
def team(drill: Drill, team_db: TeamDb, tmp_path: Path) -> Team:
    drill("keys", "init", ok=True)
    url = {"DRILL_STORE": team_db.url}
    run = drill.open(**url)
    for n in range(3):
        drill("note", run, f"early note {n}", "--by", "alice", ok=True, **url)
    drill("keys", "seal", "--all", ok=True, **url)
    for n in range(5):
        drill("note", run, f"late note {n}", "--by", "bob", ok=True, **url)
    drill("abort", run, "--by", "alice", "--reason", "drill over", ok=True, **url)
    kept = tmp_path / "kept.checkpoint"
    drill("keys", "checkpoint", "-o", str(kept), ok=True, **url)
    return Team(drill, team_db, run, kept)


def test_a_run_sealed_in_the_team_store_verifies_ok_there(team: Team) -> None:
    code, verdicts = team.verify("--strict", "--checkpoint", str(team.kept))
    assert code == 0
    assert verdicts[team.run]["verdict"] == "ok"
    assert verdicts[team.run]["seal"]["sealed"] == verdicts[team.run]["events"] == 10
    assert verdicts[team.run]["seal"]["unsealed"] == 0
    assert verdicts[None]["ledger"]["size"] == 2  # the part-way seal and the final one
    assert [row[0] for row in team.rows("SELECT events FROM drill.seal WHERE run = %s ORDER BY n", team.run)] == [4, 10]
    assert not (team.drill.root / "logs" / "seals").exists()  # nothing went to files instead
    shown = json.loads(team("keys", "show", "--json", ok=True).stdout)
    assert shown["ledger_size"] == 2
    assert json.loads(team("store", "status", "--json", ok=True).stdout)["seals"] == 2
    exported = json.loads(team("export", team.run, "--format", "json", ok=True).stdout)
    assert exported["integrity"]["seal"] == verdicts[team.run]["seal"]["fingerprint"]


def test_a_reviewer_verifies_but_the_database_refuses_their_seal(team: Team) -> None:
    run = team.drill.open(DRILL_STORE=team.db.url)
    reviewer = team.db.reviewer
    assert team("verify", team.run, "--strict", ok=True, url=reviewer).stdout.startswith(f"{team.run}: ok")
    refused = team("keys", "seal", run, url=reviewer)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "refused it: permission denied" in refused.stderr
    assert team.rows("SELECT n FROM drill.seal WHERE run = %s", run) == []


REFUSED = (
    "DELETE FROM drill.seal WHERE run = %s",
    "UPDATE drill.seal SET events = 1 WHERE run = %s",
    "DELETE FROM drill.seal_ledger WHERE n = 2",
    "UPDATE drill.seal_ledger SET line = 'x' WHERE n = 1",
    "TRUNCATE drill.seal_ledger",
    "UPDATE drill.seal_checkpoint SET size = 1",
    "DELETE FROM drill.seal_checkpoint",
)


def test_the_database_refuses_to_change_or_remove_seals_even_for_the_owner(team: Team) -> None:
    import psycopg

    for statement in REFUSED:
        params = (team.run,) if "%s" in statement else ()
        with team.db.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege, match=r"refused|only"):
            conn.execute(statement.encode(), params)
    code, verdicts = team.verify("--strict", "--checkpoint", str(team.kept))
    assert (code, verdicts[team.run]["verdict"]) == (0, "ok")


def _cut_last_lines(team: Team) -> None:
    team.owner(
        ("DELETE FROM drill.line WHERE run = %s AND seq > 7", (team.run,)),
        ("UPDATE drill.run SET seq = 7 WHERE id = %s", (team.run,)),
    )


def _delete_the_run(team: Team) -> None:
    tables = ("seal", "command", "line")
    team.owner(*((f"DELETE FROM drill.{table} WHERE run = %s", (team.run,)) for table in tables))
    team.owner(("DELETE FROM drill.run WHERE id = %s", (team.run,)))


def _delete_its_seals(team: Team) -> None:
    team.owner(("DELETE FROM drill.seal WHERE run = %s", (team.run,)))


def _flip_a_signature_byte(team: Team) -> None:
    flip = "UPDATE drill.seal SET note = set_byte(note, length(note) - 5, 65) WHERE run = %s AND n = 2"
    team.owner((flip, (team.run,)))


def _rewrite_sealed_lines(team: Team) -> None:
    """A note rewritten and every line after it rechained (the workspace has no HMAC key), the
    end's `head` too: a record whose chain verifies, which only the seals show was changed."""
    lines = [bytes(row[0]) for row in team.rows("SELECT line FROM drill.line WHERE run = %s ORDER BY seq", team.run)]
    rewritten, prev = [], "0" * 64
    for number, line in enumerate(lines, start=1):
        event = json.loads(line)
        del event["hash"]
        if number == 2:
            event["text"] = "nothing happened"
        if event["event"] == "run.ended":
            event["head"] = prev
        event["prev"] = prev
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()[:-1]
        prev = hashlib.sha256(body).hexdigest()
        rewritten.append(body + b',"hash":"' + prev.encode() + b'"}')
    update = "UPDATE drill.line SET line = %s WHERE run = %s AND seq = %s"
    team.owner(*((update, (line, team.run, seq)) for seq, line in enumerate(rewritten, start=1)))


ATTACKS: dict[str, tuple[Callable[[Team], None], str]] = {
    "last lines cut off": (_cut_last_lines, "the record has 7 events, but its seal"),
    "run deleted": (_delete_the_run, "the record is gone, and the ledger holds its seal at 10 events"),
    "its seals deleted": (_delete_its_seals, "the ledger holds a seal at 10 events that the team store's seals"),
    "signature byte flipped": (_flip_a_signature_byte, "seal 2 in the team store's seals"),
    "sealed lines rewritten": (_rewrite_sealed_lines, "line 4 has a different hash from the one sealed"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_what_an_owner_does_around_the_triggers_is_tampered(team: Team, attack: str) -> None:
    act, found = ATTACKS[attack]
    act(team)
    code, verdicts = team.verify()
    assert code == 1
    assert verdicts[team.run]["verdict"] == "tampered"
    assert found in verdicts[team.run]["problem"]


def test_the_bundle_from_the_team_store_verifies_offline(team: Team, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    team("export", team.run, "--format", "bundle", "-o", str(archive), ok=True)
    import zipfile

    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp_path / "unpacked")
    where = next((tmp_path / "unpacked").iterdir())
    assert {p.name for p in where.iterdir()} >= {f"{team.run}.jsonl", f"{team.run}.seals", "proof.json", "checkpoint"}
    done = _verify_bundle(where, "--strict")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == team("verify", team.run).stdout.splitlines()[0]
