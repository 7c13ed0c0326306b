"""The one incremental reader of a record file: what a store has read of it, so that the next
append, read or watch reads only the lines added since."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from drillkit.model.clock import parse_utc
from drillkit.model.errors import RecordError
from drillkit.model.events import EventType
from drillkit.store.port import Event

REPAIRED_MARK = f'"{EventType.RECORD_REPAIRED.value}"'.encode()  # in every line that records a repair
EVENT_KEY = b'"event":"'
NOTE_KEY = f'"event":"{EventType.NOTE.value}",'.encode()


class RecordReader:
    """What has been read of one record file, checked before each use.

    A record that still ends exactly with the last line read is taken as it is (that line ends
    with the hash of every line before it), without a stat. Otherwise it must be the same file
    (device, inode), not shorter, with the last line read still where it was; anything else
    (another file renamed into place, a rewrite) is read again from the start. `lock` is held by
    whoever brings it up to date or appends through it (threads of one process share a store).
    A reader resumed from a snapshot holds only the events after it, until it is forgotten.
    """

    def __init__(self, name: str) -> None:
        self.name = name  # "the record of <run>", for errors
        self.lock = threading.Lock()
        self._forget((0, 0))

    def _forget(self, ident: tuple[int, int]) -> None:
        self.ident = ident
        self.size = 0
        self.last_line = b""
        self.events: list[Event] = []
        self.repaired = 0  # bytes of the `.torn` file the `record.repaired` events read account for
        self.started = False  # whether the first event was found to be a whole `run.started`
        self._origin: tuple[datetime, float, bool] | None = None
        self.kept: Any = None  # from a snapshot: what stands for the events before `events`
        self._before: Event | None = None  # the event a snapshot ended with, when reading began there

    def forget(self) -> None:
        """Read the record again from its start next time."""
        self._forget((0, 0))

    def resume(self, ident: tuple[int, int], at: Resumed, origin: tuple[datetime, float, bool]) -> None:
        """Start from a snapshot instead of the start of the record (whose `run.started` gave
        `origin`): `events` then holds only the events after it, and `kept` what the caller made of it."""
        self._forget(ident)
        self.size, self.last_line, self.repaired, self.started = at.size, at.line, at.repaired, True
        self._before, self.kept, self._origin = at.event, at.kept, origin

    def lines_read(self) -> int:
        """How many lines of the record have been read, or stood for by a snapshot."""
        return len(self.events) + (0 if self._before is None else int(self._before["seq"]))

    def last_event(self) -> Event:
        """The last event read, or the snapshot's when none was read after it."""
        return self._before if self._before is not None and not self.events else self.events[-1]

    def catch_up(self, fd: int) -> bytes:
        """Read the lines added to the open record since last time; its torn tail (bytes after
        the last newline, not an event)."""
        if self.size and self._caught_up(fd):
            return b""
        stat = os.fstat(fd)
        if not self._still_valid(fd, stat):
            self._forget((stat.st_dev, stat.st_ino))
        if stat.st_size == self.size:
            return b""
        data = os.pread(fd, stat.st_size - self.size, self.size)
        fresh, torn = parse_lines(data, first_line=self.lines_read() + 1, record=self.name)
        end = len(data) - len(torn)  # the complete lines' bytes
        if end:
            repaired = repaired_bytes(fresh) if data.find(REPAIRED_MARK, 0, end) >= 0 else 0  # else no walk
            self.extend(fresh, _last_line(data, end), end, repaired)
        return torn

    @property
    def origin(self) -> tuple[datetime, float, bool]:
        """From `run.started`: when the run began, its clock speed, and whether lines are HMACs."""
        if self._origin is None:
            self._origin = origin_of(self.events[0])
        return self._origin

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


class Resumed(NamedTuple):
    """Where a snapshot lets a reader start: the record's first `size` bytes, ending with
    `line` (the event `event`), stand for `kept`."""

    size: int
    line: bytes
    event: Event
    repaired: int
    kept: Any


def origin_of(first: Event) -> tuple[datetime, float, bool]:
    """From `run.started`: when the run began, its clock speed, and whether lines are HMACs."""
    return parse_utc(first["ts"]), float(first.get("speed") or 1.0), first.get("chain") == "hmac-sha256"


def _last_line(data: bytes, end: int) -> bytes:
    """The last complete line of `data`, which ends at `end`."""
    return data[data.rfind(b"\n", 0, end - 1) + 1 : end]


def parse_lines(data: bytes, first_line: int = 1, record: str = "the record") -> tuple[list[Event], bytes]:
    """Complete lines as events, and a torn tail (bytes after the last newline); `record` names
    the record in the error about a line that is not an object."""
    lines = data.split(b"\n")  # a line ends at a newline and nowhere else (splitlines would cut at \r too)
    torn = lines.pop()
    try:
        with collector_paused():
            events = list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        events = []
    if len(events) == len(lines) and _all_objects(events):
        return events, torn
    number = first_line + next(n for n, line in enumerate(lines) if not _is_object(line))
    raise RecordError(f"line {number} of {record} is not a JSON object (run `drill verify`)")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while many objects that are not garbage are made:
    events parsed (JSON parses to trees, never to cycles: the collections that thousands of new
    dicts set off would each walk them all again, more than a third of the time it took to read a
    long record), or a library imported (structlog by the record writer, psycopg by the team store)."""
    if not gc.isenabled():  # off already: drill's start-up, or another thread's parse
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parsed_line(line: bytes, what: str, hint: str = "") -> Event:
    """One stored line as its event (a team store holds lines one by one); `what` names the line,
    and `hint` says what to do, in the error when it is not a JSON object."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        raise RecordError(f"{what} is not a JSON object{hint}")
    return event


def without_notes(data: bytes) -> bytes:
    """A record's complete lines but the notes between its first and its last line: no summary
    of a run reads a note, and notes are most of a long incident's lines. A line is a note when
    its first `"event":"` is a note's: the keys a writer puts before `event` (v, seq, ts, t, run)
    hold no quote, so that first one is the event's own. Nothing here proves the lines it skips
    (`drill verify` does)."""
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.split(b"\n")[:-1]
    if len(lines) < 3:
        return complete
    middle = [line for line in lines[1:-1] if not 0 <= line.find(NOTE_KEY) == line.find(EVENT_KEY)]
    return b"\n".join([lines[0], *middle, lines[-1], b""])


def _all_objects(events: list[Any]) -> bool:
    """Whether every parsed line is a JSON object (the types are collected in C: a report
    parses a million lines)."""
    return not events or set(map(type, events)) == {dict}


def _is_object(line: bytes) -> bool:
    try:
        return type(orjson.loads(line)) is dict
    except orjson.JSONDecodeError:
        return False


def repaired_bytes(events: list[Event]) -> int:
    """Bytes the `.torn` file should hold for these `record.repaired` events (each tail and a newline)."""
    return sum(int(e.get("bytes", 0)) + 1 for e in events if e.get("event") == EventType.RECORD_REPAIRED)
