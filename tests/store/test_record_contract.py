"""The promises of SPEC §4 that every `RecordStore` adapter keeps, run against each adapter.

An adapter is one parameter of the `subject` fixture: what the test needs of it beyond the port
is how to make its store in another process, how to leave a torn tail, as a crash would, and how
to keep its record from growing, as a full disk would.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock, VirtualClock, parse_utc
from drillkit.model.errors import NotFound, RecordError, RunExists
from drillkit.model.provenance import Provenance
from drillkit.plans.library import Plans
from drillkit.services.runs import new_run_id, started_draft
from drillkit.store.files import FileRecordStore
from drillkit.store.port import Decide, Event, RecordStore
from drillkit.store.stores import open_seals, open_store, team_store
from drillkit.store.verify import verify_lines
from tests.conftest import FAKE_NOW, Drill
from tests.teamdb import TeamDb

PLAYBOOK = "core-network-outage"
PROCESSES = 4
APPENDS = 25

# Appends numbered notes to a run from its own process and store: argv = adapter, root, run, tag, count.
APPENDER = r"""
import sys, time
from pathlib import Path
from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from tests.store.test_record_contract import make_store

kind, root, run, tag, count, delay = sys.argv[1:7]
store, clock = make_store(kind, Workspace(Path(root))), SystemClock()
time.sleep(float(delay))
for i in range(int(count)):
    draft = {"event": "note", "actor": tag, "role": None, "text": f"{tag}-{i}"}
    store.append(run, lambda events, now: [draft], clock)
"""


# Tries to take a run's conductor lock from its own process: argv = adapter, root, run.
CONDUCTOR = r"""
import sys
from pathlib import Path
from drillkit.config.workspace import Workspace
from tests.store.test_record_contract import make_store

kind, root, run = sys.argv[1:4]
print("free" if make_store(kind, Workspace(Path(root))).conduct(run) is not None else "held")
"""


def make_store(kind: str, ws: Workspace) -> RecordStore:
    """A new store of the adapter named `kind` (what a new process would hold); the team store
    is the one the workspace's drill.toml names."""
    if kind == "files":
        return FileRecordStore(ws)
    if kind == "postgres":
        url = ws.store_url()
        assert url is not None
        return team_store(ws, url)
    raise ValueError(kind)  # pragma: no cover - one branch per adapter


def _tear_file(ws: Workspace, run_id: str, torn: bytes) -> None:
    with ws.run_file(run_id).open("ab") as record:
        record.write(torn)


def _tear_row(ws: Workspace, run_id: str, torn: bytes) -> None:
    pytest.skip("a line in the team store is inserted whole in a transaction: it cannot be torn")


TEARS = {"files": _tear_file, "postgres": _tear_row}  # how each adapter's record is left with a torn tail

Full = Callable[[str, int], AbstractContextManager[None]]  # (run, bytes): the record may grow to that size only


@contextmanager
def _full_disk(run_id: str, limit: int) -> Iterator[None]:
    """No file this process writes may grow past `limit` bytes (RLIMIT_FSIZE): a write past it
    comes up short, as on a full disk (Python ignores the SIGXFSZ that comes with it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@dataclass
class Subject:
    kind: str
    ws: Workspace
    store: RecordStore
    tear: Callable[[str, bytes], None]
    full: Full  # how each adapter's record is kept from growing, as a full disk would

    def other_store(self) -> RecordStore:
        return make_store(self.kind, self.ws)

    def full_after(self, run_id: str, room: int) -> AbstractContextManager[None]:
        """While it lasts, a write that would grow the run's record by more than `room` bytes fails."""
        return self.full(run_id, len(self.store.lines(run_id)) + room)

    def new_run(self, clock: SystemClock | VirtualClock | None = None) -> str:
        clock = clock or SystemClock()
        first = started_draft(self.ws, pb=Plans(self.ws).playbook(PLAYBOOK), mode="incident", severity="II", by="t")
        run_id = new_run_id(PLAYBOOK, clock)
        self.store.create(run_id, first, clock)
        return run_id

    def other_process_conducts(self, run_id: str) -> str:
        args = [sys.executable, "-c", CONDUCTOR, self.kind, str(self.ws.root), run_id]
        done = subprocess.run(
            args, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout.strip()

    def appender(self, run_id: str, tag: str, count: int, delay: float = 0.0) -> subprocess.Popen[bytes]:
        args = [self.kind, str(self.ws.root), run_id, tag, str(count), str(delay)]
        return subprocess.Popen([sys.executable, "-c", APPENDER, *args], cwd=Path(__file__).parents[2])


@pytest.fixture(params=["files", "postgres"])
def subject(request: pytest.FixtureRequest, workspace: Path) -> Subject:
    full: Full = _full_disk
    if request.param == "postgres":
        team_db: TeamDb = request.getfixturevalue("team_db")
        (workspace / "drill.toml").write_text(f'[store]\nurl = "{team_db.url}"\n', encoding="utf-8")
        full = team_db.record_full
    ws = Workspace(workspace)
    return Subject(
        request.param, ws, make_store(request.param, ws), lambda run, torn: TEARS[request.param](ws, run, torn), full
    )


def note(*texts: str) -> Decide:
    """A decision to write one note by alice for each of `texts`, in one write."""
    return lambda events, now: [{"event": "note", "actor": "alice", "role": None, "text": text} for text in texts]


def test_concurrent_appenders_in_several_processes_never_repeat_or_skip_a_seq(subject: Subject) -> None:
    run_id = subject.new_run()
    workers = [subject.appender(run_id, f"p{n}", APPENDS) for n in range(PROCESSES)]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * PROCESSES
    events = subject.other_store().read(run_id)
    assert [e["seq"] for e in events] == list(range(1, PROCESSES * APPENDS + 2))
    assert [e["prev"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    texts = sorted(e["text"] for e in events[1:])
    assert texts == sorted(f"p{n}-{i}" for n in range(PROCESSES) for i in range(APPENDS))


def test_a_torn_tail_is_set_aside_and_recorded_as_repaired(subject: Subject) -> None:
    run_id = subject.new_run()
    subject.store.append(run_id, note("before the crash"), SystemClock())
    torn = b'{"v":1,"seq":3,"text":"half'
    subject.tear(run_id, torn)
    assert [e["event"] for e in subject.other_store().read(run_id)] == ["run.started", "note"]
    written = subject.store.append(run_id, note("after the crash"), SystemClock())
    assert [(e["event"], e.get("bytes")) for e in written] == [("record.repaired", len(torn)), ("note", None)]
    events = subject.other_store().read(run_id)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[2:] == written


ROOM = 1000  # bytes: more than a short note's line, less than a long one's
LONG = "this note does not fit " * 100


def written_once(subject: Subject, run_id: str, before: bytes, texts: list[str]) -> None:
    """Another reader finds the record as it was, then `texts` as notes, each once, and the whole
    verifies: nothing of a failed write is left in it or set aside for later."""
    data = subject.other_store().lines(run_id)
    assert data.startswith(before)
    assert [e["text"] for e in subject.other_store().read(run_id)[1:]] == texts
    assert (verify_lines(run_id, data, None).verdict, data.count(b"\n")) == ("open", 1 + len(texts))


def test_a_write_that_fails_fails_the_command_and_leaves_the_record_as_it_was(subject: Subject) -> None:
    """A full disk for files, a server that refuses the transaction for the team store: the
    append fails in one line, nothing of it is read as recorded (not by the store that tried
    it either), and the same write tried again (same `req`) is written once."""
    run_id = subject.new_run()
    before, provenance = subject.store.lines(run_id), Provenance.here()
    with subject.full_after(run_id, 100), pytest.raises(RecordError) as failed:
        subject.store.append(run_id, note(LONG), SystemClock(), provenance)
    assert "\n" not in str(failed.value)
    assert subject.other_store().lines(run_id) == before
    assert subject.store.lines(run_id) == before
    assert [e["seq"] for e in subject.store.read(run_id)] == [1]
    retried = subject.store.append(run_id, note(LONG), SystemClock(), provenance)
    assert [e["seq"] for e in retried] == [2]
    written_once(subject, run_id, before, [LONG])


def test_a_batch_cut_short_leaves_none_of_its_lines(subject: Subject) -> None:
    """Two events written together (a breach and its escalation): when only the first fits, the
    first is not left behind without the second; written again, both are recorded once."""
    run_id = subject.new_run()
    before = subject.store.lines(run_id)
    with subject.full_after(run_id, ROOM), pytest.raises(RecordError):
        subject.store.append(run_id, note("fits", LONG), SystemClock())
    assert subject.other_store().lines(run_id) == before
    written = subject.store.append(run_id, note("fits", LONG), SystemClock())
    assert [e["seq"] for e in written] == [2, 3]
    first, second = subject.store.lines(run_id)[len(before) :].splitlines(keepends=True)
    assert len(first) < ROOM < len(first) + len(second)  # the room held the first line, not the second
    written_once(subject, run_id, before, ["fits", LONG])


def test_an_append_whose_decision_is_refused_writes_nothing(subject: Subject) -> None:
    run_id = subject.new_run()
    before = subject.store.read(run_id)
    assert subject.store.append(run_id, lambda events, now: [], SystemClock()) == []
    assert subject.other_store().read(run_id) == before


def test_an_append_against_a_moved_state_is_decided_against_the_new_state(subject: Subject) -> None:
    run_id = subject.new_run()
    seen = subject.store.read(run_id)  # this process's look at the run, before someone else acts
    assert subject.appender(run_id, "other", 1).wait(timeout=60) == 0
    decided_on: list[int] = []

    def only_if_unchanged(events: list[Event], now: datetime) -> list[Event]:
        decided_on.append(events[-1]["seq"])
        return [] if events[-1]["seq"] != seen[-1]["seq"] else [{"event": "note", "actor": "a", "role": None}]

    assert subject.store.append(run_id, only_if_unchanged, SystemClock()) == []
    assert decided_on[-1] == 2  # a store may decide first on the run as it knew it: that decision is not kept
    assert subject.other_store().read(run_id)[-1]["seq"] == 2
    written = subject.store.append(run_id, note("knowing it moved"), SystemClock())
    assert (written[0]["seq"], written[0]["prev"]) == (3, subject.other_store().read(run_id)[1]["hash"])


def test_a_decision_to_write_nothing_is_taken_again_when_the_run_moved(subject: Subject) -> None:
    run_id = subject.new_run()
    seen = subject.store.read(run_id)  # what this process last saw: a store may decide on it first
    assert subject.appender(run_id, "other", 1).wait(timeout=60) == 0

    def only_once_moved(events: list[Event], now: datetime) -> list[Event]:
        return [] if events[-1]["seq"] == seen[-1]["seq"] else [{"event": "note", "actor": "a", "role": None}]

    written = subject.store.append(run_id, only_once_moved, SystemClock())
    assert [(e["seq"], e["prev"]) for e in written] == [(3, subject.other_store().read(run_id)[1]["hash"])]


def test_a_run_is_read_from_a_seq(subject: Subject) -> None:
    run_id = subject.new_run()
    for text in ("one", "two", "three"):
        subject.store.append(run_id, note(text), SystemClock())
    assert [e["text"] for e in subject.other_store().read(run_id, 3)] == ["two", "three"]
    assert subject.store.read(run_id, 5) == []
    assert subject.store.read(run_id) == subject.other_store().read(run_id, 1)


def test_the_runs_are_listed(subject: Subject) -> None:
    assert subject.store.runs() == []
    clock = VirtualClock(parse_utc(FAKE_NOW))
    first = subject.new_run(clock)
    clock.advance(3600)
    second = subject.new_run(clock)
    assert subject.other_store().runs() == sorted([first, second])


def test_watch_sees_events_another_process_appended(subject: Subject) -> None:
    run_id = subject.new_run()
    seen = subject.store.read(run_id)
    worker = subject.appender(run_id, "late", 2, delay=0.5)
    try:
        new = subject.store.watch(run_id, seen[-1]["seq"], 60.0, SystemClock())
    finally:
        assert worker.wait(timeout=60) == 0
    assert [(e["seq"], e["text"]) for e in new][:1] == [(2, "late-0")]


def test_watch_returns_nothing_when_nothing_came_in_time(subject: Subject) -> None:
    run_id = subject.new_run()
    clock = VirtualClock(parse_utc(FAKE_NOW))
    assert subject.store.watch(run_id, 1, 5.0, clock) == []
    assert (clock.now() - parse_utc(FAKE_NOW)).total_seconds() >= 5.0  # it waited the whole timeout


def test_threads_of_one_process_share_a_store(subject: Subject) -> None:
    """A conductor's writer threads and its outbox append through one store at once."""
    run_id = subject.new_run()

    def append_ten(tag: str) -> None:
        for i in range(10):
            subject.store.append(run_id, note(f"{tag}-{i}"), SystemClock())

    threads = [threading.Thread(target=append_ten, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    events = subject.other_store().read(run_id)
    assert [e["seq"] for e in events] == list(range(1, 42))


def test_a_run_is_created_once(subject: Subject) -> None:
    run_id = subject.new_run()
    before = subject.store.read(run_id)
    first = started_draft(subject.ws, pb=Plans(subject.ws).playbook(PLAYBOOK), mode="drill", severity="I", by="x")
    with pytest.raises(RunExists):
        subject.other_store().create(run_id, first, SystemClock())
    assert subject.other_store().read(run_id) == before


def test_an_unknown_run_is_refused_and_nothing_is_created(subject: Subject) -> None:
    unknown = new_run_id(PLAYBOOK, SystemClock())
    with pytest.raises(NotFound):
        subject.store.read(unknown)
    with pytest.raises(NotFound):
        subject.store.append(unknown, note("to nowhere"), SystemClock())
    assert subject.other_store().runs() == []


def test_one_process_at_a_time_conducts_a_run(subject: Subject) -> None:
    run_id = subject.new_run()
    release = subject.store.conduct(run_id)
    assert release is not None
    assert subject.other_process_conducts(run_id) == "held"
    release()
    assert subject.other_process_conducts(run_id) == "free"


def test_a_store_says_while_it_conducts_a_run(subject: Subject) -> None:
    run_id = subject.new_run()
    assert not subject.store.conducting(run_id)
    release = subject.store.conduct(run_id)
    assert release is not None
    assert subject.store.conducting(run_id)
    release()
    assert not subject.store.conducting(run_id)


def test_every_event_of_one_write_carries_its_origin_and_req(subject: Subject) -> None:
    run_id = subject.new_run()
    origin = {"user": "alice", "host": "laptop-7"}
    provenance = Provenance(req="00000000000000aa", origin=origin)
    subject.store.append(run_id, note("one", "two"), SystemClock(), provenance)
    written = subject.other_store().read(run_id)[-2:]
    assert [(e["req"], e["origin"]) for e in written] == [
        ("00000000000000aa", {"user": "alice", "host": "laptop-7"})
    ] * 2
    later = subject.store.append(run_id, note("three"), SystemClock())  # no provenance given: a write of its own
    assert later[0]["req"] not in ("", "00000000000000aa")


def test_the_lines_are_the_bytes_that_were_hashed(subject: Subject) -> None:
    run_id = subject.new_run()
    subject.store.append(run_id, note("evidence"), SystemClock())
    data = subject.other_store().lines(run_id)
    assert data.count(b"\n") == 2
    verdict = verify_lines(run_id, data, None)
    assert (verdict.verdict, verdict.events, verdict.head) == ("open", 2, subject.store.read(run_id)[-1]["hash"])


def test_a_summary_reads_every_line_but_the_notes_between_the_first_and_the_last(subject: Subject) -> None:
    """What a listing or a report summarises, in id order: a note's text may quote another
    event's key and an action's field a note's, and the last line stays even when it is a note."""
    clock = VirtualClock(parse_utc(FAKE_NOW))
    run_id = subject.new_run(clock)
    clock.advance(60)
    short = subject.new_run(clock)
    assigned = {"event": "assigned", "actor": "alice", "role": "comms", "person": '"event":"note",'}
    subject.store.append(run_id, note("first", '"event":"transition","to":"resolved",'), clock)
    subject.store.append(run_id, lambda events, now: [assigned], clock)
    subject.store.append(run_id, note("between", "last"), clock)
    subject.store.append(short, note("the only one"), clock)
    lines = subject.other_store().lines(run_id).splitlines(keepends=True)
    summarised = [(run_id, lines[0] + lines[3] + lines[-1]), (short, subject.other_store().lines(short))]
    assert list(subject.other_store().summary_lines()) == summarised
    unknown = new_run_id(PLAYBOOK, clock)
    assert list(subject.other_store().summary_lines([short, unknown])) == summarised[1:]


def test_a_keyed_run_takes_no_append_once_the_workspace_has_no_key(subject: Subject) -> None:
    from drillkit.model.errors import UsageError

    toml = subject.ws.root / "drill.toml"
    before = toml.read_text(encoding="utf-8") if toml.exists() else ""
    (subject.ws.root / "drill.key").write_bytes(b"s3cret-key-material")
    toml.write_text(before + '[integrity]\nkey_file = "drill.key"\n', encoding="utf-8")
    keyed = Workspace(subject.ws.root)
    store = make_store(subject.kind, keyed)
    first = started_draft(keyed, pb=Plans(keyed).playbook(PLAYBOOK), mode="incident", severity="II", by="t")
    run_id = new_run_id(PLAYBOOK, SystemClock())
    store.create(run_id, first, SystemClock())
    lines = store.lines(run_id)

    toml.write_text(before, encoding="utf-8")
    unkeyed = Workspace(subject.ws.root)
    with pytest.raises(UsageError, match="names no \\[integrity\\] key_file"):
        make_store(subject.kind, unkeyed).append(run_id, note("plain"), SystemClock())
    assert make_store(subject.kind, unkeyed).lines(run_id) == lines
    toml.write_text(before + '[integrity]\nkey_file = "drill.key"\n', encoding="utf-8")  # for the check at the end


class Seen:
    """What `append_from_snapshot` handed a decision: the kept part (a seq, as `restore` made
    it of the bytes kept) and the seqs of the events after it."""

    def __init__(self) -> None:
        self.kept: int | None = None
        self.seqs: list[int] = []

    def decide(self, kept: int | None, events: list[Event], now: datetime) -> list[Event]:
        self.kept, self.seqs = kept, [event["seq"] for event in events]
        return [{"event": "note", "actor": "alice", "role": None, "text": "after"}]


def kept_seq(data: bytes) -> int | None:
    return int(data) if data.isdigit() else None


def noted_and_kept(subject: Subject, notes: int, kept: bytes | None = None, at: int = -1) -> str:
    """A new run with `notes` notes and a snapshot kept at its `at`-th event (`kept`: its seq)."""
    run_id = subject.new_run()
    for n in range(notes):
        subject.store.append(run_id, note(f"note {n}"), SystemClock())
    event = subject.store.read(run_id)[at]
    subject.store.keep_snapshot(run_id, event["seq"], event["hash"], lambda: kept or str(event["seq"]).encode())
    return run_id


def seen_by_another_store(subject: Subject, run_id: str) -> tuple[Seen, list[Event]]:
    seen = Seen()
    return seen, subject.other_store().append_from_snapshot(run_id, kept_seq, seen.decide, SystemClock())


def test_a_snapshot_stands_for_the_events_before_it_or_is_not_handed_at_all(subject: Subject) -> None:
    run_id = noted_and_kept(subject, 2)
    subject.store.append(run_id, note("three"), SystemClock())
    seen, written = seen_by_another_store(subject, run_id)
    if seen.kept is None:  # a store may keep no snapshots: every event is handed
        assert seen.seqs == [1, 2, 3, 4]
    else:
        assert (seen.kept, seen.seqs) == (3, [4])
    assert [e["seq"] for e in written] == [5]
    assert [e["seq"] for e in subject.other_store().read(run_id)] == [1, 2, 3, 4, 5]


def test_a_snapshot_not_kept_at_the_last_event_read_is_not_kept(subject: Subject) -> None:
    seen, _ = seen_by_another_store(subject, noted_and_kept(subject, 1, at=0))
    assert (seen.kept, seen.seqs) == (None, [1, 2])


def test_bytes_the_caller_cannot_restore_hand_every_event(subject: Subject) -> None:
    seen, _ = seen_by_another_store(subject, noted_and_kept(subject, 1, b"not a seq"))
    assert (seen.kept, seen.seqs) == (None, [1, 2])


def test_a_store_resumed_from_a_snapshot_still_reads_the_whole_record(subject: Subject) -> None:
    run_id = noted_and_kept(subject, 1)
    resumed = subject.other_store()
    resumed.append_from_snapshot(run_id, kept_seq, Seen().decide, SystemClock())
    assert [e["seq"] for e in resumed.read(run_id)] == [1, 2, 3]
    resumed.append(run_id, lambda events, now: note(str(len(events)))(events, now), SystemClock())
    assert resumed.read(run_id)[-1]["text"] == "3"  # `append` is handed every event again


def annotation(text: str) -> Decide:
    return lambda events, now: [{"event": "annotation", "actor": "alice", "role": None, "of": 1, "text": text}]


def ended(events: list[Event], now: datetime) -> list[Event]:
    return [{"event": "run.ended", "actor": "alice", "role": None, "outcome": "aborted", "reason": "drill over"}]


def test_a_run_is_sealed_at_the_first_write_after_its_end_whoever_ended_it(subject: Subject) -> None:
    """SPEC §9 over either adapter, through the store a command of a key holder opens: a write to
    a live run seals nothing, not even one of what may follow an end (the record, read back,
    holds no end yet); once another process (without the key) ended the run, the next such write
    reads the end back from the store and seals the whole record at once."""
    Drill(subject.ws.root)("keys", "init", ok=True)
    keyed = Workspace(subject.ws.root)
    run_id = subject.new_run()
    sealing, seals = open_store(keyed), open_seals(keyed)
    sealing.append(run_id, note("live"), SystemClock())
    sealing.append(run_id, annotation("live too"), SystemClock())
    assert seals.notes(run_id) == []
    subject.other_store().append(run_id, ended, SystemClock())
    written = sealing.append(run_id, annotation("after the end"), SystemClock())
    latest = seals.latest(run_id)
    assert latest is not None
    assert (latest.events, latest.head) == (written[-1]["seq"], written[-1]["hash"])
