"""What `drill report` needs of each run, its summary, and the cache that keeps it.

Each record is read once and reduced to a small summary. Summaries are kept in
`logs/report-cache.json`, keyed by run id and valid while the record's stamp (its size and
modification time) or, failing that, its last line's hash (its head) is unchanged, so a second
report opens no unchanged record and reads only the tails of the others. `drill runs`' verdicts
come from the same cache. Over a team store, whose records no file of one machine can stand
for, each run is summarised from the lines the store sends: all but the notes between its first
and last line. The engine and the store are imported inside the functions that need them: an
answer `services/report.py` reads back summarises, reads and writes nothing here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from drillkit.config.workspace import Workspace
from drillkit.model.errors import DrillError, RecordError
from drillkit.store.stamps import Stamp, Stamps, record_stamps

if TYPE_CHECKING:
    from drillkit.store.port import RecordStore

CACHE_FILE = "report-cache.json"
CACHE_VERSION = 7  # bumped when a summary or the report's figures would be computed differently
TAIL = 4096  # bytes read from the end of a record for its head: the last line's hash
Summary = dict[str, Any]


def summarise(events: list[dict[str, Any]]) -> Summary:
    """What the report needs of one run, from its events: the run document's metric rows,
    expectation verdicts and breach owners, and none of the rest (who answered for each breach,
    the state spans, the checklist), which a first report over many runs would pay for."""
    from drillkit.engine.expectations import expectation_rows
    from drillkit.engine.metrics import metric_rows
    from drillkit.engine.replay import RunState
    from drillkit.model.events import EventType

    rs = RunState.replay(events)
    breached = EventType.DEADLINE_BREACHED  # bound once: this filter walks every event of the run
    return {
        "id": rs.run,
        "mode": rs.mode,
        "playbook": rs.playbook.playbook,
        "severity": rs.severity,
        "started": events[0]["ts"],
        "metrics": [{k: m[k] for k in ("name", "value", "target", "verdict")} for m in metric_rows(rs, events)],
        "breaches": [e.get("owner") for e in events if e["event"] == breached],
        "expectations": [e["verdict"] for e in expectation_rows(rs, events)],
        "open": not rs.ended,
    }


def summarised(store: RecordStore, run_ids: list[str] | None = None) -> dict[str, Summary | None]:
    """Every run's summary (or those named), in id order, from only the lines a summary reads
    (`RecordStore.summary_lines`: a team store sends no note); None for a record that is not a run."""
    return {run_id: _summarise_bytes(data) for run_id, data in store.summary_lines(run_ids)}


class SummaryEntries(NamedTuple):
    """The cache entries of the records readable as runs, by run id, and the records left out."""

    fresh: dict[str, dict[str, Any]]
    left_out: list[str]
    changed: bool  # differs from the cache kept

    def summaries(self) -> list[Summary]:
        return [entry["summary"] for entry in self.fresh.values()]

    def keep(self, ws: Workspace) -> None:
        if self.changed:
            keep_cache_file(ws, CACHE_FILE, orjson.dumps({"version": CACHE_VERSION, "runs": self.fresh}))


def summaries(ws: Workspace, stamps: Stamps | None = None) -> tuple[list[Summary], list[str]]:
    """A summary of every record (`stamps`: each record's file and stamp, when already taken),
    from the cache where the record's head is unchanged; and the records left out, which cannot
    be read as runs (`drill verify` names what is wrong with each). The cache is updated at once."""
    entries = summary_entries(ws, stamps)
    entries.keep(ws)
    return entries.summaries(), entries.left_out


def summary_entries(ws: Workspace, stamps: Stamps | None) -> SummaryEntries:
    """Each record's cache entry, nothing written. A record whose stamp is as cached is not
    opened at all."""
    cached = _read_cache(ws)
    fresh: dict[str, dict[str, Any]] = {}
    left_out = []
    for run_id, (file, stamp) in (record_stamps(ws.runs) if stamps is None else stamps).items():
        entry = _entry(file, stamp, cached.get(run_id))
        if entry is not None and entry["summary"] is not None:
            fresh[run_id] = entry
        else:
            left_out.append(run_id)
    return SummaryEntries(fresh, left_out, changed=fresh != cached)


def _entry(file: str, stamp: Stamp, cached: dict[str, Any] | None) -> dict[str, Any] | None:
    """The cache entry for a record: the cached one while it still fits, else a fresh summary."""
    if cached is not None and cached.get("stamp") == stamp:
        return cached
    if cached is not None:
        head = _read_head(file)
        if head is None:
            return None
        if cached.get("head") == head:
            return {**cached, "stamp": stamp}
    return _fresh_entry(file, stamp)


def _fresh_entry(file: str, stamp: list[int]) -> dict[str, Any] | None:
    """A new entry from one read of the record: its head and its summary."""
    from drillkit.store.reader import without_notes

    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    head = _head(data[-TAIL:])
    if head is None:
        return None
    return {"head": head, "stamp": stamp, "summary": _summarise_bytes(without_notes(data))}


def _summarise_bytes(lines: bytes) -> Summary | None:
    """A summary from a record's lines but its notes (`reader.without_notes`); None for a record
    that is not a run (`drill verify` names it). The report does not prove the lines it reads or
    skips: `drill verify` does."""
    from drillkit.store.files import is_started  # here: an answer read back reads no record (store.files: ~5 ms)
    from drillkit.store.reader import parse_lines

    try:
        events, _torn = parse_lines(lines)
        return summarise(events) if events and is_started(events[0]) else None
    except (DrillError, KeyError, TypeError, ValueError):
        return None


def _read_head(file: str) -> str | None:
    """A record's head, from its tail alone."""
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - TAIL))
            return _head(handle.read())
    except OSError:
        return None


def _head(tail: bytes) -> str | None:
    """The `hash` of the last complete line in a record's tail."""
    complete = tail[: tail.rfind(b"\n")]
    last = complete.rsplit(b"\n", 1)[-1]
    cut = last.rfind(b',"hash":"')
    return last[cut + 9 : cut + 73].decode("ascii", "replace") if cut >= 0 else None


def _read_cache(ws: Workspace) -> dict[str, dict[str, Any]]:
    try:
        data = orjson.loads((ws.logs / CACHE_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return dict(data.get("runs") or {})


def keep_cache_file(ws: Workspace, name: str, data: bytes) -> None:
    """Write a cache file through a temporary file made afresh (never through a link planted at
    its name), renamed into place. Best effort: a report is still right without its caches (a
    read-only workspace, a race)."""
    from drillkit.store.files import new_file  # here: an answer read back writes nothing (store.files: ~5 ms)

    target = ws.logs / name
    temporary = target.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        ws.ensure_dir(ws.logs)
        fd = new_file(temporary, name)
        try:
            if os.write(fd, data) != len(data):  # a full disk: no cut cache put in place
                raise OSError("short write")
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except (OSError, RecordError):
        temporary.unlink(missing_ok=True)


def maybe_open(ws: Workspace, stamps: Stamps) -> list[str]:
    """Runs that have not ended: open when last summarised, or, for a record changed since (or
    never seen), without `run.ended` in its tail. Read from the cache and the tails only: a first
    report over a thousand records must not read each of them twice."""
    from drillkit.store.index import has_ended

    cached = _read_cache(ws)
    found = []
    for run_id, (file, stamp) in stamps.items():
        entry = cached.get(run_id)
        if entry is not None and entry.get("stamp") == stamp:
            is_open = bool((entry["summary"] or {}).get("open"))
        else:
            is_open = not has_ended(file)
        if is_open:
            found.append(run_id)
    return found
