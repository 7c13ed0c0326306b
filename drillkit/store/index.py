"""The list of runs in a workspace, read from each record's first and last lines only."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from drillkit.config.workspace import Workspace
from drillkit.model.events import AFTER_END, EventType
from drillkit.store.files import RUN_ID, is_started
from drillkit.store.port import Event

TAIL_BYTES = 65536
_SEVERITY_MARK = f'"event":"{EventType.SEVERITY_CHANGED}"'.encode()


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    id: str
    mode: str
    playbook: str
    title: str
    severity: str
    scenario: str | None
    started: str
    ended: str | None
    outcome: str | None


def run_summaries(ws: Workspace) -> list[RunSummary]:
    """Every run, from its first and last lines only, newest first."""
    return read_runs(ws)[0]


def read_runs(ws: Workspace) -> tuple[list[RunSummary], list[str]]:
    """Every run, newest first, and the names of the records that cannot be read as runs (`drill
    verify` says what is wrong with each)."""
    found, left_out = [], []
    for path in _records(ws):
        summary = _summary(path)
        if summary is None:
            left_out.append(path.name)
        else:
            found.append(summary)
    return sorted(found, key=lambda s: (s.started, s.id), reverse=True), left_out


def open_runs(ws: Workspace) -> list[str]:
    """Ids of the runs that have not ended."""
    return [s.id for s in run_summaries(ws) if s.ended is None]


@dataclass
class OpenRuns:
    """The runs not ended, for one process that asks again and again (the scheduler, at every
    pass): a record once seen ended is not read again (a record only grows, and nothing but
    notification outcomes follows `run.ended`), nor is a run the caller holds. A pass then reads
    only the records of runs it has not seen end and does not conduct, not the whole history."""

    ws: Workspace
    _ended: set[str] = field(default_factory=set)

    def __call__(self, held: Collection[str] = ()) -> list[str]:
        """Ids of the runs not ended, oldest first; those in `held` are taken as not ended."""
        found = []
        for path in _records(self.ws):
            run_id = path.stem
            if run_id in held:
                found.append(run_id)
            elif run_id not in self._ended:
                summary = _summary(path)
                if summary is not None and summary.ended is not None:
                    self._ended.add(run_id)
                elif summary is not None:
                    found.append(run_id)
        return found


def _records(ws: Workspace) -> list[Path]:
    return sorted(ws.runs.glob("*.jsonl")) if ws.runs.is_dir() else []


def has_ended(file: str) -> bool:
    """Whether a record ends with its `run.ended` (the events of `AFTER_END` may follow), from its
    tail alone."""
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - TAIL_BYTES))
            return _end_in(handle.read()) is not None
    except OSError:
        return False


def _summary(path: Path) -> RunSummary | None:
    first, tail = _head_and_tail(path)
    if first is None or not is_started(first) or not RUN_ID.fullmatch(path.stem):
        return None
    try:
        return _summary_of(path.stem, first, tail)
    except (KeyError, TypeError, AttributeError):
        return None  # not a run's record; `drill verify` names what is wrong with it


def _summary_of(run_id: str, first: Event, tail: bytes) -> RunSummary:
    scenario = first.get("scenario") or {}
    ended = _end_in(tail)
    return RunSummary(
        id=run_id,
        mode=first["mode"],
        playbook=first["playbook"]["playbook"],
        title=first.get("title", ""),
        severity=_severity_in(tail) or first["severity"],
        scenario=scenario.get("scenario"),
        started=first["ts"],
        ended=ended["ts"] if ended else None,
        outcome=ended["outcome"] if ended else None,
    )


def _head_and_tail(path: Path) -> tuple[Event | None, bytes]:
    """The first event, and the last bytes of the record: all a listing reads."""
    try:
        with path.open("rb") as handle:
            first_line = handle.readline()
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
        first = orjson.loads(first_line) if first_line.endswith(b"\n") else None
    except (OSError, orjson.JSONDecodeError):
        return None, b""
    return (first, tail) if isinstance(first, dict) else (None, b"")


def _severity_in(tail: bytes) -> str | None:
    """The latest severity change in the tail (a change further back is not seen: the listing
    shows the run's first severity then; `drill status` always has the current one)."""
    at = tail.rfind(_SEVERITY_MARK)
    if at < 0:
        return None
    start, end = tail.rfind(b"\n", 0, at) + 1, tail.find(b"\n", at)
    try:
        event = orjson.loads(tail[start:end])
    except orjson.JSONDecodeError:
        return None
    return str(event["to"]) if isinstance(event, dict) and "to" in event else None


def _end_in(tail: bytes) -> Event | None:
    """The `run.ended` event among the last complete lines (only the events of `AFTER_END` may follow it)."""
    for line in reversed(tail[: tail.rfind(b"\n")].split(b"\n")[1:]):
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(event, dict):
            return None
        if event.get("event") == EventType.RUN_ENDED and "outcome" in event and "ts" in event:
            return event
        if event.get("event") not in AFTER_END:
            return None
    return None
