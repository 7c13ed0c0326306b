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
import hashlib
import hmac
import os
import re
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import Clock, format_utc, parse_utc
from drillkit.model.errors import NotFound, RecordError, RunExists, UsageError
from drillkit.model.events import TAKES_EFFECT_WHEN_DUE, EventType
from drillkit.model.redact import Redactor, redactor_for

Event = dict[str, Any]
Decide = Callable[[list[Event], datetime], list[Event]]  # (the record's events, the time) → drafts

FORMAT_VERSION = 1
GENESIS = "0" * 64
HASH_MARK = b',"hash":"'
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9a-f]{4}")  # matched with fullmatch
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


def workspace_key(ws: Workspace) -> bytes | None:
    """The HMAC key named by `[integrity] key_file`, if any."""
    key_file = ws.config().key_file
    if key_file is None:
        return None
    try:
        key = key_file.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"drill.toml: [integrity] key_file {ws.display(key_file)}: {exc.strerror}") from None
    if not key:
        raise UsageError(f"drill.toml: [integrity] key_file {ws.display(key_file)} is empty; put the HMAC key in it")
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


@dataclass
class Chain:
    """Where the record stands: the last seq and hash, the run's start and clock speed."""

    run: str
    seq: int
    prev: str
    started: datetime | None
    speed: float
    key: bytes | None

    def stamp(self, draft: MutableMapping[str, Any]) -> Event:
        """The event in SPEC order: v, seq, ts, t, run, then the draft; `_now` was bound by the writer."""
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
    length of the import makes structlog take its documented no-rich path.
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        import structlog

        return structlog
    sys.modules["rich"] = None  # type: ignore[assignment]  # a None entry makes `import rich` fail
    try:
        import structlog
    finally:
        del sys.modules["rich"]
    return structlog


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
        return float(event["due"])
    return float(event["t"])


def parse_lines(data: bytes, first_line: int = 1, record: str = "the record") -> tuple[list[Event], bytes]:
    """Complete lines as events, and a torn tail (bytes after the last newline); `record` names
    the record in the error about a line that is not an object."""
    end = data.rfind(b"\n") + 1
    lines = data[:end].splitlines()
    try:
        events = list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        events = []
    if len(events) == len(lines) and _all_objects(events):
        return events, data[end:]
    number = first_line + next(n for n, line in enumerate(lines) if not _is_object(line))
    raise RecordError(f"line {number} of {record} is not a JSON object (run `drill verify`)")


def _all_objects(events: list[Any]) -> bool:
    """Whether every parsed line is a JSON object (the types are collected in C: a report
    parses a million lines)."""
    return not events or set(map(type, events)) == {dict}


def _is_object(line: bytes) -> bool:
    try:
        return type(orjson.loads(line)) is dict
    except orjson.JSONDecodeError:
        return False


@lru_cache(maxsize=1024)
def _record_file(ws: Workspace, run_id: str) -> tuple[Path, str, str]:
    """A checked run id's record file as a path and as text, and its `.torn` file (all asked
    on every append)."""
    path = ws.run_file(check_run_id(run_id))
    return path, str(path), f"{path}.torn"


class RunRecord:
    """One run's record file: read it, create it, append to it under its lock."""

    def __init__(self, ws: Workspace, run_id: str) -> None:
        self.ws = ws
        self.run_id = run_id
        self.path, self.file, self._aside_file = _record_file(ws, run_id)

    @property
    def name(self) -> str:
        return f"the record of {self.run_id}"

    def read(self) -> list[Event]:
        """Every complete event (a torn tail is not an event); a record that cannot be a run fails."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no run {self.run_id!r} (see `drill runs`)") from None
        except OSError as exc:
            raise RecordError(f"cannot read the record of {self.run_id}: {exc.strerror}") from None
        events = parse_lines(data, record=self.name)[0]
        self._check_started(events)
        return events

    def _check_started(self, events: list[Event]) -> None:
        if not events or not is_started(events[0]):
            raise RecordError(f"the record of {self.run_id} does not start with a whole run.started (see drill verify)")

    def create(self, first: Event, clock: Clock, rest: list[Event] | None = None) -> list[Event]:
        """Write `run.started` (and any drafts that follow it) as a new record; fails if the run
        exists. Returns the events written.

        The lines go to a temporary file that is fsync'd and then hard-linked into place: a
        crash leaves either no record or a whole one, never an empty or half-written first line.
        """
        chain = Chain(self.run_id, 0, GENESIS, None, float(first.get("speed", 1.0)), workspace_key(self.ws))
        lines, events = render_lines(chain, self._redactor(), [first, *(rest or [])], clock.now())
        folder = self.ws.ensure_dir(self.path.parent)
        temporary = folder / f".{self.run_id}.{os.getpid()}.new"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            _write_all(fd, b"".join(lines))
            os.link(temporary, self.path)
        except FileExistsError:
            raise RunExists(f"run {self.run_id} already exists") from None
        finally:
            os.close(fd)
            temporary.unlink(missing_ok=True)
        _fsync_dir(folder)
        return events

    def append(self, decide: Decide, clock: Clock) -> list[Event]:
        """Under the lock: repair, read, decide, write in one `write`, fsync. Returns the new events."""
        fd = self._open_locked()
        try:
            known, torn = _Known.read(fd, self.file, self.name)
            if not known.started:
                self._check_started(known.events)
                known.started = True
            chunks, new_aside = self._unrecorded_tails(known.repaired, torn)
            now = clock.now()  # read once under the lock: the time decided on is the time stamped
            drafts = decide(known.events, now)
            if not drafts:  # nothing to append (a rejected command): a torn tail waits for the next append
                return []
            if chunks:  # the repairs go first
                drafts = [_repaired(chunk, Path(self._aside_file).name) for chunk in chunks] + drafts
            lines, written = render_lines(self._chain(known), self._redactor(), drafts, now)
            # decided and rendered first: the torn tail leaves the record right before the write
            if new_aside:
                self._write_aside(new_aside)
            if torn:
                os.ftruncate(fd, known.size)
            data = b"".join(lines)
            _write_all(fd, data)
            known.extend(written, lines[-1], len(data), _repaired_bytes(written) if chunks else 0)
            return written
        finally:
            os.close(fd)

    def _open_locked(self) -> int:
        """The record opened for appending, with its exclusive lock held (closing releases it).
        Never through a symbolic link: what drill writes stays under `logs/runs`."""
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW)
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

    def _unrecorded_tails(self, accounted: int, torn: bytes) -> tuple[list[bytes], bytes]:
        """Torn tails to record now, and what to add to `<run>.jsonl.torn`.

        A process killed after setting a tail aside but before its append was written left bytes
        in the `.torn` file that no `record.repaired` accounts for: they are recorded now, and a
        tail already set aside but not yet cut from the record is not set aside twice.
        """
        aside = self._read_aside()
        if not aside and not torn:  # the usual case
            return [], b""
        chunks = aside[accounted:].split(b"\n")[:-1]
        if not torn or (chunks and chunks[-1] == torn):
            return chunks, b""
        return [*chunks, torn], torn + b"\n"

    def _read_aside(self) -> bytes:
        if not os.access(self._aside_file, os.F_OK):  # the usual case, asked without an exception
            return b""
        try:
            with open(self._aside_file, "rb") as aside:
                return aside.read()
        except FileNotFoundError:
            return b""

    def _write_aside(self, data: bytes) -> None:
        side = os.open(self._aside_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.fchmod(side, FILE_MODE)
            _write_all(side, data)
        finally:
            os.close(side)

    def _chain(self, known: _Known) -> Chain:
        last = known.events[-1]
        started, speed, keyed = known.origin
        return Chain(self.run_id, last["seq"], last["hash"], started, speed, workspace_key(self.ws) if keyed else None)

    def _redactor(self) -> Redactor:
        return redactor_for(self.ws.config().redact)


def _fsync_dir(folder: Path) -> None:
    """Make a new name in a folder durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _repaired_bytes(events: list[Event]) -> int:
    """Bytes the `.torn` file should hold for these `record.repaired` events (each tail and a newline)."""
    return sum(int(e.get("bytes", 0)) + 1 for e in events if e.get("event") == EventType.RECORD_REPAIRED)


@dataclass
class _Known:
    """What this process has read of a record, so that the next append reads only what is new.

    Checked before use. A record that still ends exactly with the last line read is taken as
    it is (that line ends with the hash of every line before it), without a stat. Otherwise it
    must be the same file (device, inode), not shorter, with the last line read still where it
    was; anything else (another file renamed into place, a rewrite) reads it all again.
    """

    ident: tuple[int, int]
    size: int
    last_line: bytes
    events: list[Event]
    repaired: int
    started: bool = False  # whether the first event was found to be a whole `run.started`

    @classmethod
    def read(cls, fd: int, path: str, name: str) -> tuple[_Known, bytes]:
        """The record's events (incrementally when possible) and its torn tail."""
        known = _KNOWN.get(path)
        if known is not None and known.size and known._caught_up(fd):
            return known, b""
        stat = os.fstat(fd)
        if known is None or not known._still_valid(fd, stat):
            known = cls((stat.st_dev, stat.st_ino), 0, b"", [], 0)
        if stat.st_size == known.size:
            return known, b""
        data = os.pread(fd, stat.st_size - known.size, known.size)
        fresh, torn = parse_lines(data, first_line=len(known.events) + 1, record=name)
        complete = data[: len(data) - len(torn)]
        if complete:
            known.extend(fresh, _last_line(complete), len(complete), _repaired_bytes(fresh))
        _KNOWN[path] = known
        return known, torn

    @cached_property
    def origin(self) -> tuple[datetime, float, bool]:
        """From `run.started`: when the run began, its clock speed, and whether lines are HMACs."""
        first = self.events[0]
        return parse_utc(first["ts"]), float(first.get("speed") or 1.0), first.get("chain") == "hmac-sha256"

    def _caught_up(self, fd: int) -> bool:
        """Whether the record still ends with the last line read: one read, no stat (the usual
        case of an append, when this process wrote the last line itself)."""
        return os.pread(fd, len(self.last_line) + 1, self.size - len(self.last_line)) == self.last_line

    def _still_valid(self, fd: int, stat: os.stat_result) -> bool:
        if (stat.st_dev, stat.st_ino) != self.ident or stat.st_size < self.size:
            return False
        return os.pread(fd, len(self.last_line), self.size - len(self.last_line)) == self.last_line

    def extend(self, events: list[Event], last_line: bytes, size: int, repaired: int) -> None:
        """Account for lines read or just appended: `size` bytes ending with `last_line`, whose
        `record.repaired` events account for `repaired` bytes of the `.torn` file."""
        self.events.extend(events)
        self.size += size
        self.last_line = last_line
        self.repaired += repaired


_KNOWN: dict[str, _Known] = {}  # by record file name


def _last_line(complete: bytes) -> bytes:
    return complete[complete.rfind(b"\n", 0, len(complete) - 1) + 1 :]


def _repaired(torn: bytes, file: str) -> Event:
    return {"event": EventType.RECORD_REPAIRED, "actor": "system", "role": None, "bytes": len(torn), "file": file}


def _write_all(fd: int, data: bytes) -> None:
    """One `write` of every line, then fsync; any failure fails the command."""
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise RecordError(f"short write to the record ({written} of {len(data)} bytes)")
        os.fsync(fd)
    except OSError as exc:
        raise RecordError(f"cannot write the record: {exc.strerror}") from None
