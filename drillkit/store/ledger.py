"""The corrective actions' own record, `logs/actions.jsonl` (SPEC §10): a hash-chained ledger
under the rules of SPEC §4, without `run` and `t`. Each line has `action` (its id) after the
common fields; it is masked, chained, written in one `write` and fsync'd under an exclusive lock,
and a torn tail is set aside to `actions.jsonl.torn` and recorded as `record.repaired` by the next
append, exactly once even when a process was killed between the two (as for a run's record).

The ledger keeps the chain it was started with, as a run does: HMAC with the workspace key when
there was one, else plain SHA-256. Its lines name no chain (SPEC §10 lists no `chain` field), so
the first line's hash tells which (`ledger_key`): a workspace that gets a key after recording
actions goes on chaining them plainly, and `drill verify` calls them `unkeyed`, not tampered.

`render_ledger_lines` makes the lines; the team store (`store/postgres/actions.py`) stores the
same bytes."""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from pathlib import Path

import orjson

from drillkit.config.workspace import FILE_MODE, Workspace, fsync_folder
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import RecordError, UsageError
from drillkit.model.events import EventType
from drillkit.model.redact import redactor_for
from drillkit.store.files import (
    GENESIS,
    HASH_MARK,
    _mask_fields,
    hashed_with,
    ledger_chain,
    line_hash,
    unrecorded_tails,
    workspace_key,
    write_aside,
    write_or_take_back,
)
from drillkit.store.port import ActionLedger, Decide, Event
from drillkit.store.reader import parse_lines, repaired_bytes
from drillkit.store.stamps import LEDGER

FORMAT_VERSION = 1


def ledger_file(ws: Workspace) -> Path:
    return ws.logs / LEDGER


class FileLedger(ActionLedger):
    """The ledger in `logs/actions.jsonl`."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def read(self) -> list[Event]:
        return parse_lines(self.lines(), record=LEDGER)[0]

    def lines(self) -> bytes:
        try:
            return ledger_file(self.ws).read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise RecordError(f"cannot read {LEDGER}: {exc.strerror}") from None

    def append(self, decide: Decide, clock: Clock) -> list[Event]:
        """Under the file's lock: set a torn tail aside, read, decide, write in one `write`, fsync."""
        path = ledger_file(self.ws)
        self.ws.ensure_dir(path.parent)
        created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        except OSError as exc:
            raise RecordError(f"cannot write {LEDGER}: {exc.strerror}; nothing was written") from None
        try:
            os.fchmod(fd, FILE_MODE)
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = _append_locked(self.ws, fd, decide, clock)
        finally:
            os.close(fd)
        if created:
            fsync_folder(path.parent)
        return written

    def exists(self) -> bool:
        try:
            return ledger_file(self.ws).stat().st_size > 0
        except FileNotFoundError:
            return False


def _append_locked(ws: Workspace, fd: int, decide: Decide, clock: Clock) -> list[Event]:
    data = os.pread(fd, os.fstat(fd).st_size, 0)
    events, torn = parse_lines(data, record=LEDGER)
    now = clock.now()
    drafts = decide(events, now)
    if not drafts:  # nothing to append (a rejected command): a torn tail waits for the next append
        return []
    aside = Path(f"{ledger_file(ws)}.torn")
    chunks, new_aside = unrecorded_tails(str(aside), repaired_bytes(events), torn)
    drafts = [*map(_repaired, chunks), *drafts]  # the repairs go first
    last, first = (events[-1], data[: data.find(b"\n")]) if events else (None, None)
    lines, written = render_ledger_lines(ws, drafts, now, last, ledger_key(ws, first))
    # decided and rendered first (a refusal sets nothing aside): the tail leaves right before the write
    if new_aside:
        write_aside(aside, new_aside)
    complete = len(data) - len(torn)
    if torn:
        os.ftruncate(fd, complete)
    write_or_take_back(fd, b"".join(lines), complete)
    return written


def ledger_key(ws: Workspace, first_line: bytes | None) -> bytes | None:
    """The key the ledger goes on being chained with: none when its first line (without its
    newline) is hashed with plain SHA-256, else the workspace's key; a new ledger (no first line)
    takes the workspace's key. A keyed ledger in a workspace without a key is refused: a plain line
    after keyed ones would break its chain."""
    key = ledger_chain(first_line, workspace_key(ws))
    if first_line is not None and key is None and not hashed_with(first_line, None):
        raise UsageError(
            "the corrective actions' ledger is not chained with plain SHA-256 (its first line's hash is not):"
            " set [integrity] key_file in drill.toml to the key it was chained with (`drill verify actions` checks it)"
        )
    return key


def render_ledger_lines(
    ws: Workspace, drafts: list[Event], now: datetime, last: Event | None, key: bytes | None
) -> tuple[list[bytes], list[Event]]:
    """The drafts as ledger lines after `last` (each ending in a newline), and as events, chained
    with `key` (plain SHA-256 when None): the ledger's own chain (`ledger_key`)."""
    redact = redactor_for(ws.config().redact)
    seq, prev = (last["seq"], last["hash"]) if last else (0, GENESIS)
    lines, written = [], []
    for draft in drafts:
        seq += 1
        fields = dict(draft)
        _mask_fields(redact, fields)
        event: Event = {"v": FORMAT_VERSION, "seq": seq, "ts": format_utc(now), "event": fields.pop("event")}
        event |= {"actor": fields.pop("actor", "system"), "role": fields.pop("role", None)}
        event |= {"action": fields.pop("action", None), **fields, "prev": prev}
        body = orjson.dumps(event)[:-1]
        prev = event["hash"] = line_hash(body, key)
        lines.append(b"".join((body, HASH_MARK, prev.encode(), b'"}\n')))
        written.append(event)
    return lines, written


def _repaired(torn: bytes) -> Event:
    return {"event": EventType.RECORD_REPAIRED, "bytes": len(torn), "file": f"{LEDGER}.torn"}
