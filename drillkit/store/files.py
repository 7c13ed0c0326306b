"""The run record: append-only, hash-chained JSON lines (SPEC §4).

Writing goes through structlog: its one processor masks the free text of each draft, stamps
the event (`v`, `seq`, `ts`, `t`, `run`, `prev`) and renders the line with `hash` last; the
"logger" at the end of the chain only collects the lines, with the events they hold.
`RunRecord.append` then holds an exclusive `flock` on the record while it sets a torn tail
aside, replays, decides, writes every new line in one `write` and `fsync`s, so a command
reports success only once its events are on disk.

structlog's own file loggers flush but never fsync, so the durable write is ours.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import hashlib
import hmac
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import orjson

from drillkit.config.keyfiles import read_key_file
from drillkit.config.workspace import FILE_MODE, Workspace, fsync_folder
from drillkit.model.clock import Clock, format_utc
from drillkit.model.durations import MAX_DURATION
from drillkit.model.errors import NotFound, RecordError, RunExists, UsageError
from drillkit.model.events import TAKES_EFFECT_WHEN_DUE, EventType
from drillkit.model.provenance import Provenance
from drillkit.model.redact import Redactor, redactor_for
from drillkit.store import snapshot
from drillkit.store.port import Decide, DecideOn, Event, Kept, RecordStore, Restore
from drillkit.store.reader import RecordReader, collector_paused, origin_of, repaired_bytes, without_notes
from drillkit.store.stamps import RUN_ID

if TYPE_CHECKING:
    from drillkit.store.verify import Verdict

FORMAT_VERSION = 1
TAIL_BYTES = 65536  # what a listing reads of the end of each record
WATCH_POLL = 0.05  # seconds between looks at a watched record
GENESIS = "0" * 64
HASH_MARK = b',"hash":"'
NO_ATIME = getattr(os, "O_NOATIME", 0)  # Linux only
FREE_TEXT = frozenset({"message", "note", "text", "reason", "title", "label", "error"})
PROSE_MAPS = frozenset({"roles", "checklist"})  # in embedded plans: id → a description in prose


def check_run_id(run_id: str) -> str:
    """Refuse anything that is not a run id before a file is touched."""
    if not RUN_ID.fullmatch(run_id):
        raise UsageError(f"{run_id!r} is not a run id; run ids look like 20261129T053000Z-core-network-outage-1a2b")
    return run_id


def line_hash(body: bytes, key: bytes | None) -> str:
    """SHA-256 of the line's bytes before `,"hash":"` (HMAC-SHA256 with a key)."""
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def hashed_with(line: bytes, key: bytes | None) -> bool:
    """Whether a line (without its newline) ends in its hash with `key` (plain SHA-256 when None):
    how a record whose lines name no chain (the actions' ledger) tells its chain."""
    cut = line.rfind(HASH_MARK)
    return cut >= 0 and line[cut + len(HASH_MARK) : -2] == line_hash(line[:cut], key).encode()


def ledger_chain(first_line: bytes | None, key: bytes | None) -> bytes | None:
    """The key a record whose lines name no chain (the actions' ledger) is chained with: none
    when its first line is hashed with plain SHA-256, else `key` (a new record takes `key`)."""
    return None if first_line is not None and hashed_with(first_line, None) else key


def complete_lines(data: bytes) -> tuple[list[bytes], int]:
    """A record's complete lines (without their newlines), and the size of a torn tail after them."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], len(data) - end


def workspace_key(ws: Workspace) -> bytes | None:
    """The HMAC key named by `[integrity] key_file`, if any."""
    key_file = ws.config().key_file
    if key_file is None:
        return None
    try:
        key = read_key_file(key_file).strip()
    except OSError as exc:
        raise UsageError(f"drill.toml: [integrity] key_file {ws.display(key_file)}: {exc.strerror}") from None
    if not key:
        raise UsageError(f"drill.toml: [integrity] key_file {ws.display(key_file)} is empty; put the HMAC key in it")
    return key


def run_key(ws: Workspace, run_id: str, keyed: bool) -> bytes | None:
    """The key a run's next lines are chained with: the workspace's when `run.started` says the
    run is keyed, else none. A keyed run in a workspace whose drill.toml names no key is refused:
    plain lines after keyed ones would break its chain, and `drill verify` would call it tampered."""
    if not keyed:
        return None
    key = workspace_key(ws)
    if key is None:
        raise UsageError(
            f"run {run_id} is chained with the workspace key (its run.started says hmac-sha256), and drill.toml"
            " names no [integrity] key_file: set it back to that key; nothing was written"
        )
    return key


def _mask_fields(redact: Redactor, fields: MutableMapping[str, Any]) -> None:
    """Mask personal data in free-text fields in place, recursively in embedded plans (which
    are rebuilt, so nothing written shares structure with a draft)."""
    for key, value in fields.items():
        kind = type(value)
        if kind is str:
            if key in FREE_TEXT:
                fields[key] = redact(value)
        elif kind is dict or kind is list:
            fields[key] = _masked(redact, key, value)


def _masked(redact: Redactor, key: str, value: Any) -> Any:
    if isinstance(value, str):
        return redact(value) if key in FREE_TEXT else value
    if isinstance(value, dict):
        if key in PROSE_MAPS:
            return {k: redact(v) if isinstance(v, str) else _masked(redact, k, v) for k, v in value.items()}
        return {k: _masked(redact, k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(redact, key, item) for item in value]
    return value


class Chain:
    """Where the record stands: the last seq and hash, the run's start and clock speed; and the
    `origin` and `req` that every event of one write carries. (A plain class: a dataclass costs
    every command start-up time to make.)"""

    def __init__(  # noqa: PLR0917  # a record's position, in the order every caller has it
        self,
        run: str,
        seq: int,
        prev: str,
        started: datetime | None,
        speed: float,
        key: bytes | None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.run, self.seq, self.prev, self.started = run, seq, prev, started
        self.speed, self.key = speed, key
        self.provenance: dict[str, Any] = {} if provenance is None else provenance

    def stamp(self, draft: MutableMapping[str, Any]) -> Event:
        """The event in SPEC order: v, seq, ts, t, run, then the draft, then where the write came
        from (`origin`, `req`); `_now` was bound by the writer."""
        now: datetime = draft.pop("_now")
        if self.started is None:
            self.started = now
        self.seq += 1
        drill_t = round((now - self.started).total_seconds() * self.speed, 3)
        event: Event = {"v": FORMAT_VERSION, "seq": self.seq, "ts": format_utc(now), "t": drill_t, "run": self.run}
        event["event"] = draft.pop("event")
        event["actor"] = draft.pop("actor", "system")
        event["role"] = draft.pop("role", None)
        if event["event"] == EventType.RUN_ENDED:
            draft["events"], draft["head"] = self.seq, self.prev
        event.update(draft)
        event.update(self.provenance)
        return event

    def seal(self, event: Event) -> bytes:
        """The line: the event with `prev`, then `,"hash":"<hex>"}` and a newline; `hash` is
        added to the event too, which is then exactly what reading the line back gives."""
        event["prev"] = self.prev
        body = orjson.dumps(event)[:-1]
        self.prev = event["hash"] = line_hash(body, self.key)
        return b"".join((body, HASH_MARK, self.prev.encode(), b'"}\n'))


class _Rendering:
    """The record writer's one processor and its logger: mask, stamp and seal each event, and
    collect the lines for one write with the events they hold (so nothing is parsed back)."""

    def __init__(self, chain: Chain, redact: Redactor) -> None:
        self.chain, self.redact = chain, redact
        self.lines: list[bytes] = []
        self.events: list[Event] = []

    def __call__(self, logger: object, method: str, draft: MutableMapping[str, Any]) -> bytes:
        _mask_fields(self.redact, draft)  # the draft's own fields: the stamp adds none to mask
        event = self.chain.stamp(draft)
        self.events.append(event)
        return self.chain.seal(event)

    def msg(self, line: bytes) -> None:
        self.lines.append(line)


def _structlog() -> ModuleType:
    """structlog, imported without its optional `rich` console support.

    `import structlog` imports `rich` when it is installed (typer installs it) for pretty
    console output this writer never uses: about 50 ms on every command. Hiding `rich` for the
    length of the import makes structlog take its documented no-rich path. It is imported as
    psycopg is (`store/postgres`): with the collector off, then what it made frozen, which no
    collection need walk (`drill note`: 400 M instructions to 390 M).
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        import structlog

        return structlog
    _asyncio_on_first_use()
    sys.modules["rich"] = None  # type: ignore[assignment]  # a None entry makes `import rich` fail
    try:
        with collector_paused():
            import structlog

            gc.freeze()
    finally:
        del sys.modules["rich"]
    return structlog


def _asyncio_on_first_use() -> None:
    """`asyncio` stood in for, while structlog is imported, by a module that imports it on the
    first use of any of its names (`_AsyncioOnFirstUse`).

    structlog imports asyncio for the async methods of its loggers, which the record writer never
    calls: some 14 ms (71 M instructions, a seventh of `drill act`) spent on every command that
    writes for nothing. The standard library's `importlib.util.LazyLoader` cannot serve here:
    until Python 3.12 every later `import asyncio` statement reads the module's `__spec__`, which
    loads it at once."""
    if "asyncio" not in sys.modules:
        spec = importlib.util.find_spec("asyncio")
        if spec is not None:
            sys.modules["asyncio"] = _AsyncioOnFirstUse(spec)


class _AsyncioOnFirstUse(ModuleType):
    """Stands for `asyncio` until one of its names is used; then imports it in its place and
    answers for it. Holds only what the import statement reads (`__spec__`), so `import asyncio`
    elsewhere takes it as it is, and `from asyncio import X`, `import asyncio.events` or
    `asyncio.run` bring in the real module (with no `__path__` here, a submodule's import asks
    for it, which imports the package)."""

    def __init__(self, spec: importlib.machinery.ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


@cache
def _writer_class() -> Any:
    """A structlog bound logger whose one method takes a draft as it is.

    Built directly rather than through `wrap_logger`, whose lazy proxy binds a new logger on
    every call, and handing the draft to `_process_event` (structlog's hook for custom bound
    loggers) rather than as keywords: the append path is hot (every command, every conducted
    event)."""

    class RecordWriter(_structlog().BoundLoggerBase):  # type: ignore[misc]
        def msg(self, draft: Event) -> Any:
            args, kw = self._process_event("msg", None, draft)
            return self._logger.msg(*args, **kw)

    return RecordWriter


def render_lines(
    chain: Chain, redactor: Redactor, drafts: list[Event], now: datetime
) -> tuple[list[bytes], list[Event]]:
    """Mask, stamp and chain drafts through structlog: the record lines, and the events they hold.

    `now` is bound as the writer's context; a draft may carry its own `_now` (a simulation
    writes a whole virtual run at once)."""
    rendering = _Rendering(chain, redactor)
    log = _writer_class()(rendering, [rendering], {"_now": now})
    for draft in drafts:
        log.msg(draft)
    return rendering.lines, rendering.events


_STARTED_FIELDS = frozenset(("run", "ts", "seq", "hash", "mode", "playbook", "severity", "state"))


def is_started(event: Event) -> bool:
    """Whether an event is a whole `run.started`, the first line every record needs."""
    if event.get("event") != EventType.RUN_STARTED or not event.keys() >= _STARTED_FIELDS:
        return False
    return isinstance(event["playbook"], dict)


def effective_t(event: Event) -> float:
    """When an event took effect: a system transition or time-limit end caught up late counts
    from its `due` time."""
    if event["event"] in TAKES_EFFECT_WHEN_DUE and "due" in event:
        return drill_seconds(event["due"], "due")
    return drill_seconds(event["t"], "t")


def drill_seconds(value: Any, name: str) -> float:
    """A drill time a line holds: seconds from the run's start, no more than ten years. A
    ValueError or TypeError names it (a line edited by hand and rechained may hold -5 or 1e308)."""
    seconds = float(value)
    if not 0 <= seconds <= MAX_DURATION:
        raise ValueError(f"{name} {value!r} is not a drill time (0 to ten years in seconds)")
    return seconds


class RunRecord:
    """One run's record file: read it, create it, append to it under its lock, through the
    store's reader of it."""

    def __init__(self, ws: Workspace, run_id: str, reader: RecordReader | None = None) -> None:
        self.ws = ws
        self.run_id = run_id
        self.path = ws.run_file(check_run_id(run_id))
        self.file, self._aside_file = str(self.path), f"{self.path}.torn"  # as text: asked on every append
        self.reader = reader or RecordReader(self.name)

    @property
    def name(self) -> str:
        return f"the record of {self.run_id}"

    def read(self) -> list[Event]:
        """Every complete event (a torn tail is not an event); a record that cannot be a run fails.
        The reader's own list: callers copy what they keep."""
        try:
            fd = os.open(self.file, os.O_RDONLY)
        except FileNotFoundError:
            raise NotFound(f"no run {self.run_id!r} (see `drill runs`)") from None
        except OSError as exc:
            raise RecordError(f"cannot read the record of {self.run_id}: {exc.strerror}") from None
        try:
            with self.reader.lock:
                self._catch_up(fd)
                return self.reader.events
        finally:
            os.close(fd)

    def _catch_up(self, fd: int, *, from_snapshot: bool = False) -> bytes:
        """The reader brought up to date, checked to start a run; the torn tail. Only
        `from_snapshot` may it hold just the events after a snapshot."""
        if self.reader.kept is not None and not from_snapshot:
            self.reader.forget()
        try:
            torn = self.reader.catch_up(fd)
        except OSError as exc:
            raise RecordError(f"cannot read the record of {self.run_id}: {exc.strerror}") from None
        if not self.reader.started:
            self._check_started(self.reader.events)
            self.reader.started = True
        return torn

    def _check_started(self, events: list[Event]) -> None:
        if not events or not is_started(events[0]):
            raise RecordError(f"the record of {self.run_id} does not start with a whole run.started (see drill verify)")

    def create(
        self, first: Event, clock: Clock, rest: list[Event] | None = None, provenance: Provenance | None = None
    ) -> list[Event]:
        """Write `run.started` (and any drafts that follow it) as a new record; fails if the run
        exists. Returns the events written.

        The lines go to a temporary file that is fsync'd and then hard-linked into place: a
        crash leaves either no record or a whole one, never an empty or half-written first line.
        """
        speed, key = float(first.get("speed", 1.0)), workspace_key(self.ws)
        chain = Chain(self.run_id, 0, GENESIS, None, speed, key, _fields(provenance))
        lines, events = render_lines(chain, self._redactor(), [first, *(rest or [])], clock.now())
        folder = self.ws.ensure_dir(self.path.parent)
        temporary = folder / f".{self.run_id}.{os.getpid()}.new"
        fd = new_file(temporary, f"the record of {self.run_id}")
        try:
            _write_all(fd, b"".join(lines))
            os.link(temporary, self.path)
        except FileExistsError:
            raise RunExists(f"run {self.run_id} already exists") from None
        finally:
            os.close(fd)
            temporary.unlink(missing_ok=True)
        fsync_folder(folder)
        return events

    def append(self, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        """Under the lock: repair, read, decide, write in one `write`, fsync. Returns the new events."""
        fields = _fields(provenance)
        fd = self._open_locked()
        try:
            with self.reader.lock:
                return self._append_locked(fd, decide, clock, fields)
        finally:
            os.close(fd)

    def append_from_snapshot(
        self,
        restore: Restore[Kept],
        decide: DecideOn[Kept],
        clock: Clock,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        """`append`, read on from the run's snapshot when this process has read nothing of the
        record yet and the snapshot fits it (`RecordStore.append_from_snapshot`)."""
        fields = _fields(provenance)
        fd = self._open_locked()
        try:
            with self.reader.lock:
                if not self.reader.size:
                    self._resume(fd, restore)
                kept = self.reader
                return self._append_locked(
                    fd, lambda events, now: decide(kept.kept, events, now), clock, fields, from_snapshot=True
                )
        finally:
            os.close(fd)

    def _resume(self, fd: int, restore: Callable[[bytes], Any]) -> None:
        """Start the reader from the run's snapshot, when one fits: its digest is checked with the
        run's own line hash, which `run.started` (the record's first line) says."""
        file = self.file + snapshot.SUFFIX
        if not os.access(file, os.F_OK):  # the usual case: nothing to look at
            return
        first = _first_event(fd)
        if first is None or not is_started(first):
            return  # the whole record is read, and refused as it is without a snapshot
        try:
            origin = origin_of(first)
        except (KeyError, TypeError, ValueError, AttributeError):  # the whole record is read, and refused
            return
        key = run_key(self.ws, self.run_id, origin[2])
        found = snapshot.resumed(file, fd, restore, lambda data: line_hash(data, key))
        if found is not None:
            stat = os.fstat(fd)
            self.reader.resume((stat.st_dev, stat.st_ino), found, origin)

    def keep_snapshot(self, seq: int, head: str, kept: Callable[[], bytes]) -> None:
        """Write the snapshot when the reader's last event is the one `kept()` stands for; a
        cache, so a folder that cannot take it is no failure."""
        with self.reader.lock:
            if not self.reader.size:
                return
            last = self.reader.last_event()
            if (last["seq"], last["hash"]) != (seq, head):
                return
            try:
                key = run_key(self.ws, self.run_id, self.reader.origin[2])
            except UsageError:  # drill.toml lost the key since the write: nothing to keep it with
                return
            data = snapshot.encoded(self.reader, kept(), lambda body: line_hash(body, key))
        # one name for every process: one a kill left is replaced, not left beside others (two at
        # once may put a cut one in place, which its digest refuses: a cache, kept again later)
        temporary = self.path.parent / f".{self.run_id}{snapshot.SUFFIX}.new"
        try:
            fd = new_file(temporary, "the snapshot")
            try:
                _write_all(fd, data, "the snapshot")
            finally:
                os.close(fd)
            os.replace(temporary, self.file + snapshot.SUFFIX)
        except (OSError, RecordError):
            temporary.unlink(missing_ok=True)

    def _append_locked(
        self, fd: int, decide: Decide, clock: Clock, provenance: dict[str, Any], *, from_snapshot: bool = False
    ) -> list[Event]:
        known = self.reader
        torn = self._catch_up(fd, from_snapshot=from_snapshot)
        chunks, new_aside = unrecorded_tails(self._aside_file, known.repaired, torn)
        now = clock.now()  # read once under the lock: the time decided on is the time stamped
        drafts = decide(known.events, now)
        if not drafts:  # nothing to append (a rejected command): a torn tail waits for the next append
            return []
        if chunks:  # the repairs go first
            drafts = [_repaired(chunk, Path(self._aside_file).name) for chunk in chunks] + drafts
        lines, written = render_lines(self._chain(provenance), self._redactor(), drafts, now)
        # decided and rendered first: the torn tail leaves the record right before the write
        if new_aside:
            write_aside(Path(self._aside_file), new_aside)
        if torn:
            os.ftruncate(fd, known.size)
        data = b"".join(lines)
        write_or_take_back(fd, data, known.size)
        known.extend(written, lines[-1], len(data), repaired_bytes(written) if chunks else 0)
        return written

    def _open_locked(self) -> int:
        """The record opened for appending, with its exclusive lock held (closing releases it).
        Never through a symbolic link: what drill writes stays under `logs/runs`."""
        try:
            fd = _open_for_append(self.file)
        except FileNotFoundError:
            raise NotFound(f"no run {self.run_id!r} (see `drill runs`)") from None
        except OSError as exc:
            linked = exc.errno == errno.ELOOP
            reason = "it is a symbolic link, and drill appends only to its own files" if linked else exc.strerror
            raise RecordError(f"cannot open the record of {self.run_id}: {reason}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _chain(self, provenance: dict[str, Any]) -> Chain:
        last = self.reader.last_event()
        started, speed, keyed = self.reader.origin
        key = run_key(self.ws, self.run_id, keyed)
        return Chain(self.run_id, last["seq"], last["hash"], started, speed, key, provenance)

    def _redactor(self) -> Redactor:
        return redactor_for(self.ws.config().redact)


def _open_for_append(file: str) -> int:
    """`file` opened to append, never through a link; without an access time update where the
    system allows it (Linux, to the file's owner): reading the tail under the lock would
    otherwise dirty the inode once more before every write (some 5 µs of each fsync'd append)."""
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW
    try:
        return os.open(file, flags | NO_ATIME)
    except PermissionError as exc:
        if exc.errno != errno.EPERM or not NO_ATIME:
            raise
    return os.open(file, flags)  # a file of another owner: O_NOATIME is refused, not the append


def unrecorded_tails(aside_file: str, accounted: int, torn: bytes) -> tuple[list[bytes], bytes]:
    """Torn tails to record now, and what to add to the `.torn` file `aside_file`, of which the
    `record.repaired` events read so far account for `accounted` bytes.

    A process killed after setting a tail aside but before its append was written left bytes
    in the `.torn` file that no `record.repaired` accounts for: they are recorded now, and a
    tail already set aside but not yet cut from the record is not set aside twice.
    """
    aside = _read_aside(aside_file)
    if not aside and not torn:  # the usual case
        return [], b""
    chunks = aside[accounted:].split(b"\n")[:-1]
    if not torn or (chunks and chunks[-1] == torn):
        return chunks, b""
    return [*chunks, torn], torn + b"\n"


def _read_aside(aside_file: str) -> bytes:
    if not os.access(aside_file, os.F_OK):  # the usual case, asked without an exception
        return b""
    try:
        with open(aside_file, "rb") as aside:
            return aside.read()
    except FileNotFoundError:
        return b""


def _fields(provenance: Provenance | None) -> dict[str, Any]:
    """What every event of one write carries: the write's own provenance, else this process's."""
    return (provenance or Provenance.here()).fields()


def new_file(path: Path, what: str) -> int:
    """A file made afresh for writing, 0640 whatever the umask, never through a link (a stale one
    of a crashed process with the same pid is replaced); a folder drill may not write to is one line."""
    try:
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:
        raise RecordError(f"cannot create {what}: {exc.strerror}") from None
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _first_event(fd: int) -> Event | None:
    """The record's first line as an event (`run.started`: a whole playbook, perhaps a scenario),
    or None when it is not one."""
    data, size = b"", 65536
    while b"\n" not in data:
        data = os.pread(fd, size, 0)
        if len(data) < size:
            break
        size *= 4
    line, newline, _ = data.partition(b"\n")
    try:
        event = orjson.loads(line) if newline else None
    except orjson.JSONDecodeError:
        return None
    return event if type(event) is dict else None


def _listed(folder: Path) -> list[str]:
    """The names in a folder of records; none when it does not exist yet, and a folder that
    cannot be read is an error, never taken for one without records."""
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RecordError(f"cannot list {folder.parent.name}/{folder.name}: {exc.strerror}") from None


def write_aside(path: Path, data: bytes) -> None:
    """Torn bytes appended to the record's `.torn` file, durable (its name too) before the record
    is truncated: a crash between the two loses nothing the repair event will point to."""
    side = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(side, FILE_MODE)
        _write_all(side, data)
    finally:
        os.close(side)
    fsync_folder(path.parent)


def _repaired(torn: bytes, file: str) -> Event:
    return {"event": EventType.RECORD_REPAIRED, "actor": "system", "role": None, "bytes": len(torn), "file": file}


def write_or_take_back(fd: int, data: bytes, size: int, what: str = "the record") -> None:
    """`_write_all` for a batch of lines appended to a file of `size` bytes, under its lock: when
    the write or fsync fails, the file is cut back to `size`. Lines of a batch that did not all
    land would otherwise be read as recorded though the command failed (a deadline's breach
    without the `on_deadline` transition written with it)."""
    try:
        _write_all(fd, data, what)
    except RecordError:
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        except OSError:
            pass  # the next append sets a torn tail aside; complete lines stay as they are
        raise


def _write_all(fd: int, data: bytes, what: str = "the record") -> None:
    """One `write` of every line, then fsync; any failure fails the command, naming `what` was written."""
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise RecordError(f"short write to {what} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    except OSError as exc:
        raise RecordError(f"cannot write {what}: {exc.strerror}") from None


class FileRecordStore(RecordStore):
    """The records as JSON-lines files under `logs/runs`, one `RunRecord` (and its `RecordReader`)
    per record read."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._records: dict[str, RunRecord] = {}  # by run id
        self._conducting: set[str] = set()  # the runs whose conductor lock this store holds

    def record(self, run_id: str) -> RunRecord:
        """The run's record file, through this store's reader of it: made once per run, as a
        conductor appends to its runs again and again."""
        record = self._records.get(run_id)
        if record is None:  # a race of two threads makes two; the last one kept serves
            record = self._records[run_id] = RunRecord(self.ws, run_id)
        return record

    def create(
        self,
        run_id: str,
        first: Event,
        clock: Clock,
        rest: list[Event] | None = None,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        return self.record(run_id).create(first, clock, rest, provenance)

    def append(self, run_id: str, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        return self.record(run_id).append(decide, clock, provenance)

    def append_from_snapshot(
        self,
        run_id: str,
        restore: Restore[Kept],
        decide: DecideOn[Kept],
        clock: Clock,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        return self.record(run_id).append_from_snapshot(restore, decide, clock, provenance)

    def keep_snapshot(self, run_id: str, seq: int, head: str, kept: Callable[[], bytes]) -> None:
        self.record(run_id).keep_snapshot(seq, head, kept)

    def read(self, run_id: str, from_seq: int = 1) -> list[Event]:
        return self.record(run_id).read()[max(from_seq, 1) - 1 :]

    def runs(self) -> list[str]:
        return sorted(name for name in self._jsonl_names() if RUN_ID.fullmatch(name))

    def watch(self, run_id: str, after_seq: int, timeout: float, clock: Clock) -> list[Event]:
        """Polls the file every `WATCH_POLL` seconds."""
        deadline = clock.now() + timedelta(seconds=timeout)
        while not (new := self.read(run_id, after_seq + 1)):
            left = (deadline - clock.now()).total_seconds()
            if left <= 0:
                return []
            clock.sleep(min(WATCH_POLL, left))
        return new

    def lines(self, run_id: str) -> bytes:
        path = self.record(run_id).path
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no run {run_id!r} (see `drill runs`)") from None
        except OSError as exc:
            raise RecordError(f"cannot read the record of {run_id}: {exc.strerror}") from None

    def heads_and_tails(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes, bytes]]:
        """Each record's first line and last `TAIL_BYTES` bytes; a record that cannot be read
        gives empty bytes, and a `.jsonl` file not named by a run id is listed too (a listing
        names what it leaves out)."""
        for run_id in self._jsonl_names() if run_ids is None else run_ids:
            try:
                with open(self.ws.run_file(run_id), "rb") as handle:
                    first = handle.readline()
                    size = os.fstat(handle.fileno()).st_size
                    handle.seek(max(0, size - TAIL_BYTES))
                    yield run_id, first, handle.read()
            except OSError:
                yield run_id, b"", b""

    def summary_lines(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes]]:
        """Each record read whole and its notes dropped here (a file is read where it lies)."""
        for run_id in sorted(self.runs() if run_ids is None else run_ids):
            try:
                data = self.ws.run_file(check_run_id(run_id)).read_bytes()
            except FileNotFoundError:
                continue
            except OSError:
                data = b""
            yield run_id, without_notes(data)

    def _jsonl_names(self) -> list[str]:
        """The names of the records' files, without `.jsonl`; none before the first run."""
        return sorted(name[: -len(".jsonl")] for name in _listed(self.ws.runs) if name.endswith(".jsonl"))

    def verify(
        self, run_ids: list[str], key: bytes | None, accepted: frozenset[str] = frozenset()
    ) -> tuple[list[Verdict], list[str]]:
        """Many records spread over the machine's cores (`verify_files`)."""
        from drillkit.store.verify import runs_to_verify, verify_files

        return verify_files(runs_to_verify(self.ws.runs, run_ids), key, accepted)

    def conduct(self, run_id: str) -> Callable[[], None] | None:
        """An `flock` on `<run>.conductor` beside the record, held until the file is closed."""
        fd = os.open(self.record(run_id).path.with_suffix(".conductor"), os.O_RDWR | os.O_CREAT, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        self._conducting.add(run_id)

        def release() -> None:
            self._conducting.discard(run_id)
            os.close(fd)

        return release

    def conducting(self, run_id: str) -> bool:
        """An `flock` is held as long as its file is open: nothing takes it away."""
        return run_id in self._conducting

    def writable(self, run_id: str) -> bool:
        return os.access(self.record(run_id).path, os.W_OK)
