"""The promises of SPEC §9 that every `SealStore` adapter keeps, run against each adapter: files
under `logs/seals/` and the team store's tables.

An adapter is one parameter of the `subject` fixture. The store is driven through the port (and
`drill verify`'s service reads what it holds); what a test needs of an adapter beyond the port is
how to do behind drillkit's back what an attacker with the files or the database does: cut the
ledger, remove its checkpoint, put an earlier ledger back with its seals and checkpoint, spoil
the cached right edge of the ledger's tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock, VirtualClock, parse_utc
from drillkit.model.errors import DrillWarning, RecordError, UsageError
from drillkit.plans.library import Plans
from drillkit.services.review import Verification, verify_runs
from drillkit.services.runs import new_run_id, started_draft
from drillkit.services.seals import init_key, seal_runs
from drillkit.store import merkle
from drillkit.store.port import Event, RecordStore
from drillkit.store.sealcheck import LedgerFinding
from drillkit.store.sealport import SealStore
from drillkit.store.seals import Seal, SealKey, new_key, parse_checkpoint, workspace_signing_key
from drillkit.store.stores import open_seals, open_store
from drillkit.store.verify import Verdict
from tests.conftest import DRILL, FAKE_NOW, Drill, rechained
from tests.store.test_record_contract import make_store
from tests.teamdb import TeamDb

PLAYBOOK = "core-network-outage"
SEAL_TABLES = ("drill.seal", "drill.seal_ledger", "drill.seal_checkpoint")
SEALERS = 6


@dataclass(frozen=True)
class Adapter:
    """What an attacker does to one backend, behind drillkit's back: `cut(s, entry)` removes one
    ledger entry (1 the first, -1 the last); `drop_checkpoint(s)` removes the checkpoint;
    `save(s)` and `restore(s, saved)` put the seals, the ledger and its checkpoint back as they
    were; `spoil_edge(s, edge)` replaces the cached right edge of the ledger's tree (None: gone)."""

    cut: Callable[[Subject, int], None]
    drop_checkpoint: Callable[[Subject], None]
    save: Callable[[Subject], Any]
    restore: Callable[[Subject, Any], None]
    spoil_edge: Callable[[Subject, bytes | None], None]


def _cut_file(s: Subject, entry: int) -> None:
    ledger = s.ws.seals / "ledger"
    lines = ledger.read_bytes().splitlines(keepends=True)
    del lines[entry if entry < 0 else entry - 1]
    ledger.write_bytes(b"".join(lines))


def _drop_checkpoint_file(s: Subject) -> None:
    (s.ws.seals / "checkpoint").unlink()


def _save_files(s: Subject) -> Path:
    saved = s.ws.root.parent / "saved-seals"
    shutil.copytree(s.ws.seals, saved)
    return saved


def _restore_files(s: Subject, saved: Path) -> None:
    shutil.rmtree(s.ws.seals)
    shutil.copytree(saved, s.ws.seals)


def _spoil_edge_file(s: Subject, edge: bytes | None) -> None:
    """The cache written for the ledger as it is (its length and size), with `edge` for hashes."""
    path, ledger = s.ws.seals / "ledger.edge", s.ws.seals / "ledger"
    if edge is None:
        path.unlink()
        return
    hashes = " ".join(edge[i : i + merkle.HASH_SIZE].hex() for i in range(0, len(edge), merkle.HASH_SIZE))
    path.write_text(f"{ledger.stat().st_size}:{len(s.seals.ledger())} {hashes}\n", encoding="ascii")


FILES = Adapter(_cut_file, _drop_checkpoint_file, _save_files, _restore_files, _spoil_edge_file)


def _as_owner(s: Subject, *steps: tuple[str, tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Statements run by the database's owner with the seal tables' triggers off (what an
    administrator who goes around drillkit can do); the rows each returned."""
    assert s.db is not None
    found = []
    with s.db.connect() as conn:
        for table in SEAL_TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
        for statement, params in steps:
            cursor = conn.execute(statement.encode(), params)
            found.append([tuple(row) for row in cursor] if cursor.description else [])
        for table in SEAL_TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER".encode())
    return found


def _cut_row(s: Subject, entry: int) -> None:
    which = "(SELECT max(n) FROM drill.seal_ledger)" if entry < 0 else str(entry)
    _as_owner(s, (f"DELETE FROM drill.seal_ledger WHERE n = {which}", ()))


def _drop_checkpoint_row(s: Subject) -> None:
    _as_owner(s, ("DELETE FROM drill.seal_checkpoint", ()))


SAVED_COLUMNS = {
    "drill.seal": "run, n, events, note",
    "drill.seal_ledger": "n, line",
    "drill.seal_checkpoint": "one, size, note, frontier",
}


def _save_rows(s: Subject) -> dict[str, list[tuple[Any, ...]]]:
    queries = [(f"SELECT {columns} FROM {table}", ()) for table, columns in SAVED_COLUMNS.items()]
    return dict(zip(SAVED_COLUMNS, _as_owner(s, *queries), strict=True))


def _restore_rows(s: Subject, saved: dict[str, list[tuple[Any, ...]]]) -> None:
    steps: list[tuple[str, tuple[Any, ...]]] = [(f"DELETE FROM {table}", ()) for table in SAVED_COLUMNS]
    for table, columns in SAVED_COLUMNS.items():
        marks = ", ".join(["%s"] * len(columns.split(",")))
        steps += [(f"INSERT INTO {table} ({columns}) VALUES ({marks})", row) for row in saved[table]]
    _as_owner(s, *steps)


def _spoil_frontier(s: Subject, edge: bytes | None) -> None:
    _as_owner(s, ("UPDATE drill.seal_checkpoint SET frontier = %s", (edge or b"",)))


POSTGRES = Adapter(_cut_row, _drop_checkpoint_row, _save_rows, _restore_rows, _spoil_frontier)

ADAPTERS = {"files": FILES, "postgres": POSTGRES}


@dataclass
class Subject:
    ws: Workspace
    adapter: Adapter
    records: RecordStore  # the adapter's record store, which seals nothing itself
    key: SealKey
    db: TeamDb | None  # the team store's database, for the postgres adapter

    @property
    def seals(self) -> SealStore:
        """A new store, as another process would open it."""
        return open_seals(self.ws)

    def new_run(self, notes: int = 1) -> str:
        clock = SystemClock()
        first = started_draft(self.ws, pb=Plans(self.ws).playbook(PLAYBOOK), mode="incident", severity="II", by="t")
        run_id = new_run_id(PLAYBOOK, clock)
        self.records.create(run_id, first, clock)
        for n in range(notes):
            self.records.append(run_id, note(f"note {n}"), clock)
        return run_id

    def seal(self, run_id: str, key: SealKey | None = None) -> Seal | None:
        return self.seals.seal(key or self.key, run_id, self.records.lines(run_id), clock())

    def held(self) -> tuple[list[bytes], bytes | None]:
        """The ledger and its checkpoint, as another process reads them."""
        seals = self.seals
        return seals.ledger(), seals.checkpoint()

    def verify(self, kept: bytes | None = None, *, strict: bool = False) -> Verification:
        return verify_runs(self.ws, [], checkpoint=kept, strict=strict)

    def ended_by_a_command(self) -> str:
        """A run ended through the store a command opens, which seals it at once where the key is."""
        run_id = self.new_run()
        written = open_store(self.ws).append(run_id, ended, SystemClock())
        assert [e["event"] for e in written] == ["run.ended"]
        return run_id


def clock() -> VirtualClock:
    return VirtualClock(parse_utc(FAKE_NOW))


def note(text: str) -> Callable[[list[Event], datetime], list[Event]]:
    return lambda events, now: [{"event": "note", "actor": "alice", "role": None, "text": text}]


def ended(events: list[Event], now: datetime) -> list[Event]:
    return [{"event": "run.ended", "actor": "alice", "role": None, "outcome": "aborted", "reason": "drill over"}]


def verdict(checked: Verification, run_id: str) -> Verdict:
    return next(v for v in checked.verdicts if v.run == run_id)


def ledger(checked: Verification) -> LedgerFinding:
    """`drill verify`'s finding on the ledger."""
    assert checked.seals is not None
    assert checked.seals.ledger is not None
    return checked.seals.ledger


@pytest.fixture(params=list(ADAPTERS))
def subject(request: pytest.FixtureRequest, workspace: Path) -> Subject:
    """A workspace with a seal key whose seals (from `open_seals`, as every command gets them)
    are kept by the adapter."""
    team_db: TeamDb | None = None
    if request.param == "postgres":
        team_db = request.getfixturevalue("team_db")
        (workspace / "drill.toml").write_text(f'[store]\nurl = "{team_db.url}"\n', encoding="utf-8")
    ws = Workspace(workspace)
    init_key(ws, None)
    ws = Workspace(workspace)  # drill.toml read again, with the key's public half
    records, key = make_store(request.param, ws), workspace_signing_key(ws)
    return Subject(ws, ADAPTERS[request.param], records, key, team_db)


def test_a_store_never_sealed_holds_no_seal_no_ledger_and_no_checkpoint(subject: Subject) -> None:
    run_id = subject.new_run()
    seals = subject.seals
    assert (seals.notes(run_id), seals.latest(run_id), seals.ledger(), seals.checkpoint()) == ([], None, [], None)
    checked = subject.verify()
    assert verdict(checked, run_id).verdict == "unsealed"
    assert (ledger(checked).problem, checked.exit_code) == (None, 0)


def test_a_seal_covers_the_lines_it_is_given_and_its_checkpoint_signs_the_ledger(subject: Subject) -> None:
    run_id = subject.new_run(notes=3)
    last = subject.records.read(run_id)[-1]
    seal = subject.seal(run_id)
    assert seal is not None
    assert (seal.run, seal.events, seal.head) == (run_id, 4, last["hash"])
    seals = subject.seals
    assert (seals.notes(run_id), seals.latest(run_id)) == ([seal.note], seal)
    assert seals.ledger() == [f"{run_id} 4 {seal.digest}".encode()]
    note = seals.checkpoint()
    assert note is not None
    assert subject.key.public.opened(note) is not None
    checkpoint = parse_checkpoint(note)
    assert (checkpoint.size, checkpoint.root) == (1, merkle.root([merkle.leaf_hash(seals.ledger()[0])]))
    checked = subject.verify(note, strict=True)
    assert (verdict(checked, run_id).verdict, ledger(checked).problem, checked.exit_code) == ("open", None, 0)


def test_lines_already_sealed_are_not_sealed_again_and_new_ones_extend_the_ledger(subject: Subject) -> None:
    run_id = subject.new_run()
    assert subject.seal(run_id) is not None
    first = subject.held()
    assert subject.seal(run_id) is None
    assert subject.held() == first
    subject.records.append(run_id, note("after the seal"), SystemClock())
    again = subject.seal(run_id)
    assert again is not None
    assert again.events == 3
    assert len(subject.seals.notes(run_id)) == 2
    checked = subject.verify(first[1], strict=True)  # the first checkpoint, kept by a reviewer
    assert (ledger(checked).problem, checked.exit_code) == (None, 0)
    assert ledger(checked).size == 2


def test_events_past_the_latest_seal_are_an_unsealed_tail(subject: Subject) -> None:
    run_id = subject.new_run()
    subject.seal(run_id)
    subject.records.append(run_id, note("past the seal"), SystemClock())
    checked = subject.verify()
    assert checked.seals is not None
    assert (verdict(checked, run_id).verdict, checked.seals.findings[run_id].unsealed) == ("open", 1)
    assert (checked.exit_code, subject.verify(strict=True).exit_code) == (0, 1)


def _flipped(lines: bytes) -> bytes:
    at = lines.index(b"note 0")
    return lines[:at] + b"m" + lines[at + 1 :]


def _rewritten(lines: bytes) -> bytes:
    events = [json.loads(line) for line in lines.splitlines()]
    events[1]["text"] = "nothing happened"
    return rechained(events)


@pytest.mark.parametrize("change", [_flipped, _rewritten], ids=["byte flipped", "rewritten with a new chain"])
def test_lines_that_fail_verification_or_rewrite_sealed_ones_are_never_sealed(
    subject: Subject, change: Callable[[bytes], bytes]
) -> None:
    """A record that does not verify is never sealed; one whose sealed lines were rewritten with
    a recomputed chain verifies, and is never sealed either: a seal never blesses a rewrite."""
    run_id = subject.new_run(notes=2)
    if change is _rewritten:
        subject.records.append(run_id, note("sealed"), SystemClock())
        subject.seal(run_id)
        subject.records.append(run_id, note("after the seal"), SystemClock())
    before = (subject.seals.notes(run_id), *subject.held())
    changed = change(subject.records.lines(run_id))
    assert subject.seals.seal(subject.key, run_id, changed, clock()) is None
    assert (subject.seals.notes(run_id), *subject.held()) == before


@pytest.mark.parametrize("entry", [-1, 1], ids=["last entry", "first entry"])
def test_a_seal_never_signs_over_a_ledger_cut_short(subject: Subject, entry: int) -> None:
    """The next seal would have signed the cut ledger as its own, and the cut vanished: a command
    that ends a run writes and leaves it unsealed, `drill keys seal` is refused in one line,
    nothing is written, and `drill verify` still shows the cut."""
    for _ in range(2):
        subject.seal(subject.new_run())
    subject.adapter.cut(subject, entry)
    before = subject.held()
    run_id = subject.ended_by_a_command()
    assert (subject.seals.notes(run_id), subject.held()) == ([], before)
    with pytest.raises(RecordError, match="does not extend its checkpoint") as refused:
        seal_runs(subject.ws, clock(), [run_id])
    assert "\n" not in str(refused.value)
    assert (subject.seals.notes(run_id), subject.held()) == ([], before)
    checked = subject.verify()
    assert "rolled back" in (ledger(checked).problem or "")
    assert (verdict(checked, run_id).verdict, checked.exit_code) == ("unsealed", 1)


def test_a_ledger_whose_checkpoint_is_gone_is_tampered_and_never_sealed_over(subject: Subject) -> None:
    """The checkpoint exists from the first seal on: without it a ledger could be cut unseen, and
    a seal that wrote a new one would hide that it was removed."""
    subject.seal(subject.new_run())
    subject.adapter.drop_checkpoint(subject)
    checked = subject.verify()
    assert "no checkpoint" in (ledger(checked).problem or "")
    run_id = subject.new_run()
    with pytest.raises(RecordError, match="does not extend its checkpoint"):
        subject.seal(run_id)
    assert (subject.seals.notes(run_id), subject.seals.checkpoint()) == ([], None)


def test_a_rollback_of_seals_ledger_and_checkpoint_together_shows_against_a_kept_checkpoint(subject: Subject) -> None:
    """Put back together, the seals, ledger and checkpoint agree with each other: only a checkpoint
    kept elsewhere shows the rollback, and a seal made after it does not hide it."""
    run_id = subject.new_run()
    subject.seal(run_id)
    saved = subject.adapter.save(subject)
    subject.records.append(run_id, note("sealed, then rolled back"), SystemClock())
    subject.seal(run_id)
    subject.seal(subject.new_run())
    kept = subject.seals.checkpoint()
    assert kept is not None
    subject.adapter.restore(subject, saved)
    assert ledger(subject.verify()).problem is None
    assert "fewer than the 3 of the kept checkpoint" in (ledger(subject.verify(kept)).problem or "")
    for _ in range(2):
        subject.seal(subject.new_run())
    assert "were changed" in (ledger(subject.verify(kept)).problem or "")


SPOILED = {
    "gone": None,
    "garbled": b"not an edge",
    "forged for this ledger": bytes(range(32)),
}


@pytest.mark.parametrize("spoiled", list(SPOILED))
def test_a_wrong_cached_edge_is_never_trusted(subject: Subject, spoiled: str) -> None:
    """The right edge of the ledger's tree, kept so a seal need not read the whole ledger: lost,
    garbled, or replaced by other hashes of the right count, it is rebuilt from the ledger."""
    subject.seal(subject.new_run())
    kept = subject.seals.checkpoint()
    subject.adapter.spoil_edge(subject, SPOILED[spoiled])
    for _ in range(3):
        assert subject.seal(subject.new_run()) is not None
    checked = subject.verify(kept, strict=True)
    assert (ledger(checked).problem, checked.exit_code) == (None, 0)
    assert ledger(checked).size == 4


def test_a_key_that_did_not_sign_the_checkpoint_never_extends_the_ledger(subject: Subject) -> None:
    subject.seal(subject.new_run())
    before = subject.held()
    _content, other = new_key(subject.key.name)  # the same name, another key
    run_id = subject.new_run()
    with pytest.raises(RecordError, match="does not extend its checkpoint"):
        subject.seal(run_id, other)
    assert (subject.seals.notes(run_id), subject.held()) == ([], before)


def test_a_command_of_the_key_holder_seals_the_run_it_ends(subject: Subject) -> None:
    run_id = subject.ended_by_a_command()
    latest = subject.seals.latest(run_id)
    assert latest is not None
    assert latest.events == 3
    assert subject.verify(strict=True).exit_code == 0


def test_a_private_key_that_is_not_drill_tomls_never_seals(subject: Subject) -> None:
    """Another workspace's key copied in: what it signed would read as tampered for good, so a
    command writes and leaves the run unsealed, saying so, and `drill keys seal` refuses."""
    content, _other = new_key("elsewhere")
    subject.ws.seal_key().write_text(content, encoding="utf-8")
    with pytest.warns(DrillWarning, match=r"^not sealed: seal key logs/keys/seal.key is not this workspace's"):
        run_id = subject.ended_by_a_command()
    assert subject.seals.notes(run_id) == []
    assert verdict(subject.verify(), run_id).verdict == "unsealed"
    with pytest.raises(UsageError, match="is not this workspace's"):
        seal_runs(subject.ws, clock(), [run_id])
    assert subject.seals.notes(run_id) == []


def test_a_private_key_open_to_others_seals_and_says_so(subject: Subject) -> None:
    subject.ws.seal_key().chmod(0o640)
    with pytest.warns(DrillWarning, match=r"^seal key logs/keys/seal.key is open to its group \(mode 0640"):
        run_id = subject.ended_by_a_command()
    assert subject.seals.latest(run_id) is not None
    assert subject.verify(strict=True).exit_code == 0


def test_without_the_private_key_commands_write_and_runs_wait_for_a_key_holder(subject: Subject) -> None:
    key = subject.ws.seal_key()
    aside = key.with_name("elsewhere")
    key.rename(aside)
    run_id = subject.ended_by_a_command()
    checked = subject.verify()
    assert (verdict(checked, run_id).verdict, checked.exit_code) == ("unsealed", 0)
    assert subject.verify(strict=True).exit_code == 1
    with pytest.raises(UsageError, match="needs the private seal key"):
        seal_runs(subject.ws, clock(), [run_id])
    aside.rename(key)
    assert dict(seal_runs(subject.ws, clock(), []))[run_id] is not None
    assert subject.verify(strict=True).exit_code == 0


def test_keys_seal_seals_every_run_with_unsealed_events(subject: Subject) -> None:
    sealed, fresh = subject.new_run(), subject.new_run()
    subject.seal(sealed)
    swept = dict(seal_runs(subject.ws, clock(), []))
    assert swept[sealed] is None
    assert swept[fresh] is not None
    assert subject.verify(strict=True).exit_code == 0


def test_a_new_key_over_a_ledger_of_another_key_is_refused_and_writes_nothing(subject: Subject) -> None:
    """The key lost and its drill.toml line removed: a new key would turn every sealed run tampered."""
    subject.seal(subject.new_run())
    subject.ws.seal_key().unlink()
    toml = subject.ws.root / "drill.toml"
    kept = "".join(line for line in toml.read_text(encoding="utf-8").splitlines(True) if "seal_public_key" not in line)
    toml.write_text(kept, encoding="utf-8")
    with pytest.raises(UsageError, match="signed with another key"):
        init_key(Workspace(subject.ws.root), None)
    assert not subject.ws.seal_key().exists()
    assert toml.read_text(encoding="utf-8") == kept


def test_sealers_in_several_processes_take_turns_on_the_ledger(subject: Subject) -> None:
    """Each `drill keys seal` its own process, all at once: every seal lands in the ledger once,
    and every checkpoint signs the ledger as it was."""
    runs = [subject.new_run() for _ in range(SEALERS)]
    env = Drill(subject.ws.root).env()
    sealers = [
        subprocess.Popen([str(DRILL), "keys", "seal", run], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for run in runs
    ]
    said = [sealer.communicate(timeout=60)[1] for sealer in sealers]
    assert [sealer.returncode for sealer in sealers] == [0] * SEALERS, said
    assert sorted(line.split(b" ")[0].decode() for line in subject.seals.ledger()) == sorted(runs)
    checked = subject.verify(strict=True)
    assert (ledger(checked).problem, checked.exit_code) == (None, 0)
