"""A run's snapshot: its caller's summary of the record up to one event, kept beside the record
(`logs/runs/<run>.jsonl.snapshot`) so that a command on a long record reads only what came after.

A cache, never the truth. It is used only while the record still holds, where the snapshot
says, the very line it was kept at (same `seq`, same `hash`), and while its own bytes still hash
as when they were kept; anything else (none, a cut or edited snapshot, a record rewritten or
put in place of another) reads the record from its start, as without one. The file is one JSON
header line, then the caller's bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import orjson

from drillkit.store.port import Kept
from drillkit.store.reader import RecordReader, Resumed

FORMAT = 1  # of the header; the caller's bytes carry their own
SUFFIX = ".snapshot"
NUMBERS = ("seq", "size", "line", "repaired")  # the header's counts


def encoded(reader: RecordReader, kept: bytes) -> bytes:
    """The snapshot of what `reader` has read, its last event standing for `kept`."""
    started, speed, keyed = reader.origin
    last = reader.last_event()
    header = {
        "format": FORMAT,
        "seq": last["seq"],
        "head": last["hash"],
        "size": reader.size,
        "line": len(reader.last_line),
        "repaired": reader.repaired,
        "first": {"ts": started.isoformat(), "speed": speed, "chain": "hmac-sha256" if keyed else "sha256"},
        "sha256": hashlib.sha256(kept).hexdigest(),
    }
    return orjson.dumps(header) + b"\n" + kept


def resumed(file: str, fd: int, restore: Callable[[bytes], Kept | None]) -> tuple[tuple[int, int], Resumed] | None:
    """Where the open record `fd` may be read on from, by its snapshot `file`, with what
    `restore` made of it; None when there is no snapshot that fits (or `restore` declines)."""
    try:
        data = _read(file)
        if data is None:
            return None
        header, kept = _checked(data)
        stat = os.fstat(fd)
        line = _line_ending_at(fd, header["size"], header["line"], stat.st_size)
        event = orjson.loads(line)
    except (OSError, ValueError, KeyError, TypeError):  # not a snapshot that fits: read it all
        return None
    if type(event) is not dict or event.get("seq") != header["seq"] or event.get("hash") != header["head"]:
        return None
    made = restore(kept)
    if made is None:
        return None
    at = Resumed(header["size"], line, event, header["repaired"], header["first"], made)
    return (stat.st_dev, stat.st_ino), at


def _read(file: str) -> bytes | None:
    if not os.access(file, os.F_OK):  # the usual case, asked without an exception
        return None
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return os.read(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _checked(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and the caller's bytes, when the header is this format's and the bytes are whole."""
    first, _, kept = data.partition(b"\n")
    header = orjson.loads(first)
    if header["format"] != FORMAT or any(type(header[name]) is not int for name in NUMBERS):
        raise ValueError("not a snapshot of this format")
    if hashlib.sha256(kept).hexdigest() != header["sha256"]:
        raise ValueError("cut or changed since it was kept")
    return header, kept


def _line_ending_at(fd: int, size: int, length: int, record_size: int) -> bytes:
    """The whole line (newline included) that ends `length` bytes at offset `size` of the record."""
    if not 0 < length <= size <= record_size:
        raise ValueError("not within the record")
    start = size - length
    data = os.pread(fd, length + 1, start - 1) if start else b"\n" + os.pread(fd, length, 0)
    if len(data) != length + 1 or data[:1] != b"\n" or data[-1:] != b"\n":
        raise ValueError("no line ends there")
    return data[1:]
