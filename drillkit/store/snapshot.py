"""A run's snapshot: its caller's summary of the record up to one event, kept beside the record
(`logs/runs/<run>.jsonl.snapshot`) so that a command on a long record reads only what came after.

A cache, never the truth. It is used only while the record still holds, where the snapshot
says, the very line it was kept at (same `seq`, same `hash`), and while its digest still matches
its header and the caller's bytes; anything else (none, a cut or edited snapshot, a record
rewritten or put in place of another) reads the record from its start, as without one. The
digest is the record's own line hash: HMAC-SHA256 with the workspace key for a keyed run, so a
snapshot of a keyed run cannot be forged without the key, as its lines cannot.

What a snapshot does not see: an edit of a line before the one it was kept at that leaves that
line where it was (the same length, and the chain not recomputed). Commands then read on from
the state kept before the edit; `drill verify` names the edited line, as it does without one.

The file is one JSON header line ending in its `digest` (of the header's bytes before
`,"digest":"`, a newline and the caller's bytes), then the caller's bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

import orjson

from drillkit.store.port import Kept
from drillkit.store.reader import RecordReader, Resumed

FORMAT = 2  # of the header; the caller's bytes carry their own
SUFFIX = ".snapshot"
DIGEST_MARK = b',"digest":"'
NUMBERS = ("seq", "size", "line", "repaired")  # the header's counts
LARGEST = 64 << 20  # bytes: anything larger is no snapshot drill wrote
Digest = Callable[[bytes], str]  # the run's line hash


def encoded(reader: RecordReader, kept: bytes, digest: Digest) -> bytes:
    """The snapshot of what `reader` has read, its last event standing for `kept`."""
    last = reader.last_event()
    header = {
        "format": FORMAT,
        "seq": last["seq"],
        "head": last["hash"],
        "size": reader.size,
        "line": len(reader.last_line),
        "repaired": reader.repaired,
    }
    body = orjson.dumps(header)[:-1]
    return b"".join((body, DIGEST_MARK, digest(body + b"\n" + kept).encode(), b'"}\n', kept))


def resumed(file: str, fd: int, restore: Callable[[bytes], Kept | None], digest: Digest) -> Resumed | None:
    """Where the open record `fd` may be read on from, by its snapshot `file`, with what `restore`
    made of it; None when there is no snapshot that fits (or `restore` declines)."""
    try:
        data = _read(file)  # gone since it was seen: an OSError, read past
        if data is None:
            return None
        header, kept = _checked(data, digest)
        line = _line_ending_at(fd, header["size"], header["line"])
        event = orjson.loads(line)
        if type(event) is not dict or (event.get("seq"), event.get("hash")) != (header["seq"], header["head"]):
            return None
    except (OSError, ValueError, KeyError, TypeError):  # not a snapshot that fits: read it all
        return None
    made = restore(kept)
    return None if made is None else Resumed(header["size"], line, event, header["repaired"], made)


def _read(file: str) -> bytes | None:
    """The snapshot's bytes; None when something other than a file of a size drill writes is in
    its place (a pipe is never waited on)."""
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size > LARGEST:
            return None
        return os.read(fd, found.st_size)
    finally:
        os.close(fd)


def _checked(data: bytes, digest: Digest) -> tuple[dict[str, Any], bytes]:
    """The header and the caller's bytes, when the header is this format's and the digest holds."""
    first, _, kept = data.partition(b"\n")
    cut = first.rfind(DIGEST_MARK)
    if cut < 0 or first[cut + len(DIGEST_MARK) : -2] != digest(first[:cut] + b"\n" + kept).encode():
        raise ValueError("cut or changed since it was kept")
    header = orjson.loads(first)
    if header["format"] != FORMAT or any(type(header[name]) is not int for name in NUMBERS):
        raise ValueError("not a snapshot of this format")
    return header, kept


def _line_ending_at(fd: int, size: int, length: int) -> bytes:
    """The whole line (newline included) that ends `length` bytes at offset `size` of the record."""
    if not 0 < length <= size:
        raise ValueError("not within the record")
    start = size - length
    data = os.pread(fd, length + 1, start - 1) if start else b"\n" + os.pread(fd, length, 0)
    if len(data) != length + 1 or data[:1] != b"\n" or data[-1:] != b"\n":
        raise ValueError("no line ends there")
    return data[1:]
