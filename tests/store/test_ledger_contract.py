"""The promises every `ActionLedger` adapter keeps (SPEC §10 under §4's rules), run against each:
the file ledger (`logs/actions.jsonl`) and the team store's. Plus the one promise between them: the
team store keeps byte for byte the lines the file would hold."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock, parse_utc
from drillkit.model.errors import Rejected, UsageError
from drillkit.store.files import hashed_with
from drillkit.store.ledger import FileLedger, ledger_file
from drillkit.store.port import ActionLedger, Event
from drillkit.store.stores import open_ledger
from tests.conftest import FAKE_NOW
from tests.e2e.test_evaluation import assert_chained
from tests.teamdb import TeamDb

PROCESSES = 3
APPENDS = 10

# Opens numbered actions from its own process and ledger: argv = workspace root, tag, count.
OPENER = r"""
import sys
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.store.stores import open_ledger
from tests.store.test_ledger_contract import opened

root, tag, count = sys.argv[1:4]
ledger = open_ledger(Workspace(Path(root)))
for i in range(int(count)):
    ledger.append(lambda events, now: [opened(events, f"{tag}-{i}")], SystemClock())
"""


def opened(events: list[Event], title: str) -> Event:
    """An `action.opened` draft whose id counts the actions before it, as `drill action add` does."""
    number = sum(1 for e in events if e["event"] == "action.opened") + 1
    return {
        "event": "action.opened", "actor": "risk", "action": f"A-{number}", "title": title,
        "from_run": "20261129T080000Z-core-network-outage-e7a1", "objective": "mitigate",
        "owner_role": "lead", "owner": "alice", "due": "2027-01-15", "capability": None,
    }  # fmt: skip


def on_team_store(workspace: Path, team_db: TeamDb) -> None:
    (workspace / "drill.toml").write_text(f'[store]\nurl = "{team_db.url}"\n', encoding="utf-8")


@pytest.fixture(params=["files", "postgres"])
def subject(request: pytest.FixtureRequest, workspace: Path) -> Workspace:
    """A workspace whose ledger (from `open_ledger`, as every command gets it) is the adapter's."""
    if request.param == "postgres":
        on_team_store(workspace, request.getfixturevalue("team_db"))
    return Workspace(workspace)


def clock() -> VirtualClock:
    return VirtualClock(parse_utc(FAKE_NOW))


def test_a_new_ledger_is_empty_and_asking_creates_nothing(subject: Workspace) -> None:
    ledger = open_ledger(subject)
    assert (ledger.read(), ledger.exists()) == ([], False)
    assert ledger.append(lambda events, now: [], clock()) == []
    assert (ledger.read(), ledger.exists()) == ([], False)


def test_an_append_is_chained_and_read_back_by_another_ledger(subject: Workspace) -> None:
    written = open_ledger(subject).append(lambda events, now: [opened(events, "first")], clock())
    written += open_ledger(subject).append(lambda events, now: [opened(events, "second")], clock())
    again = open_ledger(subject)
    assert again.exists()
    assert again.read() == written
    assert [(e["seq"], e["action"], e["title"]) for e in written] == [(1, "A-1", "first"), (2, "A-2", "second")]
    assert [e["prev"] for e in written] == ["0" * 64, written[0]["hash"]]


def test_a_refused_decision_writes_nothing(subject: Workspace) -> None:
    ledger = open_ledger(subject)
    ledger.append(lambda events, now: [opened(events, "kept")], clock())

    def refuse(events: list[Event], now: datetime) -> list[Event]:
        raise Rejected("no action A-9 (see `drill action list`)")

    with pytest.raises(Rejected):
        ledger.append(refuse, clock())
    assert [e["title"] for e in open_ledger(subject).read()] == ["kept"]


@pytest.mark.slow
def test_openers_in_several_processes_never_repeat_an_id_or_a_seq(subject: Workspace) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(subject.root), f"p{n}", str(APPENDS)], cwd=Path(__file__).parents[2]
        )
        for n in range(PROCESSES)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * PROCESSES
    events = open_ledger(subject).read()
    assert [e["seq"] for e in events] == list(range(1, PROCESSES * APPENDS + 1))
    assert [e["action"] for e in events] == [f"A-{n}" for n in range(1, PROCESSES * APPENDS + 1)]
    assert sorted(e["title"] for e in events) == sorted(f"p{n}-{i}" for n in range(PROCESSES) for i in range(APPENDS))
    assert [e["prev"] for e in events[1:]] == [e["hash"] for e in events[:-1]]


def test_the_team_store_keeps_the_bytes_the_file_holds(workspace: Path, tmp_path: Path, team_db: TeamDb) -> None:
    """The same decisions at the same times give the same lines in both (masking and chain included)."""
    files_ws = Workspace(workspace)
    team_root = tmp_path / "team"
    team_root.mkdir()
    on_team_store(team_root, team_db)
    for ledger in (FileLedger(files_ws), open_ledger(Workspace(team_root))):
        assert isinstance(ledger, ActionLedger)
        ledger.append(lambda events, now: [opened(events, "call +86 138 0013 8000")], clock())
        ledger.append(lambda events, now: [{"event": "action.updated", "actor": "alice", "action": "A-1",
                                            "status": "in-progress", "note": "list exported"}], clock())  # fmt: skip
    file_lines = ledger_file(files_ws).read_bytes().splitlines()
    with team_db.connect() as conn:
        stored = [bytes(row[0]) for row in conn.execute("SELECT line FROM drill.action_line ORDER BY seq")]
    assert stored == file_lines
    assert_chained(stored, ["action.opened", "action.updated"])


@pytest.fixture
def rewrite(subject: Workspace, request: pytest.FixtureRequest) -> Callable[[list[bytes]], None]:
    """Puts lines in place of the ledger's as someone who goes around drillkit would: the file's
    bytes, or the team store's rows as their owner with the tables' triggers off."""
    if subject.store_url() is None:

        def file(lines: list[bytes]) -> None:
            ledger_file(subject).write_bytes(b"".join(line + b"\n" for line in lines))

        return file
    team_db: TeamDb = request.getfixturevalue("team_db")

    def rows(lines: list[bytes]) -> None:
        with team_db.connect() as conn:
            conn.execute("ALTER TABLE drill.action_line DISABLE TRIGGER USER")
            conn.execute("DELETE FROM drill.action_line")
            for seq, line in enumerate(lines, start=1):
                conn.execute("INSERT INTO drill.action_line (seq, line, req) VALUES (%s, %s, 'by-hand')", (seq, line))
            conn.execute("ALTER TABLE drill.action_line ENABLE TRIGGER USER")

    return rows


def three_actions(ws: Workspace) -> list[bytes]:
    """Three actions opened, one line each; the lines as the ledger keeps them."""
    ledger = open_ledger(ws)
    for title in ("first", "second", "third"):
        ledger.append(lambda events, now, title=title: [opened(events, title)], clock())  # type: ignore[misc]
    return ledger.lines().splitlines()


def test_a_ledger_never_written_has_nothing_to_verify(subject: Workspace) -> None:
    assert (open_ledger(subject).lines(), open_ledger(subject).verify(None)) == (b"", None)


def test_an_intact_ledger_verifies_ok_with_its_head(subject: Workspace) -> None:
    three_actions(subject)
    verdict = open_ledger(subject).verify(None)
    assert verdict is not None
    assert (verdict.run, verdict.verdict, verdict.events, verdict.line) == ("actions", "ok", 3, None)
    assert verdict.head == open_ledger(subject).read()[-1]["hash"]


def flipped(lines: list[bytes]) -> list[bytes]:
    middle = lines[1].replace(b'"second"', b'"secand"')
    assert middle != lines[1]
    return [lines[0], middle, lines[2]]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (flipped, "hash check failed"),
        (lambda lines: [lines[0], lines[2]], "chain check failed"),
        (lambda lines: [lines[0], lines[2], lines[1]], "chain check failed"),
    ],
    ids=["byte-flipped", "line-deleted", "lines-reordered"],
)
def test_a_changed_ledger_is_tampered_at_the_first_bad_line(
    subject: Workspace,
    rewrite: Callable[[list[bytes]], None],
    change: Callable[[list[bytes]], list[bytes]],
    problem: str,
) -> None:
    rewrite(change(three_actions(subject)))
    verdict = open_ledger(subject).verify(None)
    assert verdict is not None
    assert (verdict.verdict, verdict.line) == ("tampered", 2)
    assert str(verdict.problem).startswith(problem)


KEY = b"s3cret-key-material"


def keyed(ws: Workspace) -> Workspace:
    """The workspace with an HMAC key added to its `drill.toml` (its store kept)."""
    (ws.root / "drill.key").write_bytes(KEY)
    toml = ws.root / "drill.toml"
    before = toml.read_text(encoding="utf-8") if toml.exists() else ""
    toml.write_text(f'{before}[integrity]\nkey_file = "drill.key"\n', encoding="utf-8")
    return Workspace(ws.root)


def unkeyed(ws: Workspace) -> Workspace:
    """The workspace with its key taken out of `drill.toml` again."""
    toml = ws.root / "drill.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('[integrity]\nkey_file = "drill.key"\n', ""), "utf-8")
    return Workspace(ws.root)


def test_a_ledger_begun_without_a_key_stays_plain_after_one_is_added(subject: Workspace) -> None:
    three_actions(subject)
    ws = keyed(subject)
    open_ledger(ws).append(lambda events, now: [opened(events, "fourth")], clock())
    lines = open_ledger(ws).lines().splitlines()
    assert [hashed_with(line, None) for line in lines] == [True] * 4
    assert [hashed_with(line, KEY) for line in lines] == [False] * 4
    found = open_ledger(ws).verify(KEY)
    assert found is not None
    assert (found.verdict, found.events, found.line, found.chain) == ("unkeyed", 4, None, "sha256")
    accepted = open_ledger(ws).verify(KEY, accepted=True)
    assert accepted is not None
    assert (accepted.verdict, accepted.chain) == ("ok", "sha256")


def test_a_keyed_ledger_stays_keyed_and_without_its_key_takes_no_line(subject: Workspace) -> None:
    ws = keyed(subject)
    written = three_actions(ws)
    assert [hashed_with(line, KEY) for line in written] == [True] * 3
    found = open_ledger(ws).verify(KEY)
    assert found is not None
    assert (found.verdict, found.chain) == ("ok", "hmac-sha256")

    bare = unkeyed(ws)
    with pytest.raises(UsageError, match="set \\[integrity\\] key_file"):
        open_ledger(bare).append(lambda events, now: [opened(events, "plain")], clock())
    assert open_ledger(bare).lines().splitlines() == written  # nothing written


def plain(line: bytes) -> bytes:
    body = line[: line.rfind(b',"hash":"')]
    return body + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'


def rekeyed(line: bytes) -> bytes:
    body = line[: line.rfind(b',"hash":"')]
    return body + b',"hash":"' + hmac.new(KEY, body, hashlib.sha256).hexdigest().encode() + b'"}'


@pytest.mark.parametrize(
    ("begun_keyed", "change", "said"),
    [
        (True, lambda lines: [lines[0], plain(lines[1]), lines[2]], "plain SHA-256, the ledger with the workspace key"),
        (False, lambda lines: [lines[0], rekeyed(lines[1]), lines[2]], "HMAC, the ledger with plain SHA-256"),
    ],
    ids=["plain-after-keyed", "keyed-after-plain"],
)
def test_a_line_of_the_other_chain_is_tampered_where_it_breaks_the_chain(
    subject: Workspace,
    rewrite: Callable[[list[bytes]], None],
    begun_keyed: bool,
    change: Callable[[list[bytes]], list[bytes]],
    said: str,
) -> None:
    lines = three_actions(keyed(subject) if begun_keyed else subject)
    rewrite(change(lines))
    found = open_ledger(subject).verify(KEY, accepted=True)
    assert found is not None
    assert (found.verdict, found.line) == ("tampered", 2)
    assert (
        found.problem == f"hash check failed: the line's bytes do not match its hash (the line is chained with {said})"
    )
