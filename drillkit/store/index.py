"""The list of runs in a workspace, read from each record's first and last lines only."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field

import orjson

from drillkit.config.workspace import Workspace
from drillkit.model.events import AFTER_END, EventType
from drillkit.store.files import TAIL_BYTES, is_started
from drillkit.store.port import Event, RecordStore
from drillkit.store.stamps import RUN_ID

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


def read_runs(ws: Workspace, store: RecordStore | None = None) -> tuple[list[RunSummary], list[str]]:
    """Every run of the workspace's store (or of `store`), newest first, and the names of the
    records that cannot be read as runs (`drill verify` says what is wrong with each)."""
    from drillkit.store.stores import open_store

    found, left_out = [], []
    for run_id, first_line, tail in (store or open_store(ws)).heads_and_tails():
        summary = _summary_from(run_id, first_line, tail)
        if summary is None:
            left_out.append(f"{run_id}.jsonl")
        else:
            found.append(summary)
    return sorted(found, key=lambda s: (s.started, s.id), reverse=True), left_out


def open_runs(ws: Workspace) -> list[str]:
    """Ids of the runs not known to have ended, newest first: then those whose records cannot
    be read as runs (an open incident among them is named by the caller, never left unseen)."""
    summaries, unreadable = read_runs(ws)
    unread = [name.removesuffix(".jsonl") for name in unreadable]
    return [s.id for s in summaries if s.ended is None] + [run_id for run_id in unread if RUN_ID.fullmatch(run_id)]


@dataclass
class OpenRuns:
    """The runs not ended, for one process that asks again and again (the scheduler, at every
    pass): a record once seen ended is not read again (a record only grows, and nothing but
    notification outcomes follows `run.ended`), nor is a run the caller holds. A pass then reads
    only the records of runs it has not seen end and does not conduct, not the whole history.

    The drills and incidents seen to end after the first call (a foreground conductor's, one
    aborted between passes) are kept for `ended_lately`: the one pass that finds a run ended is
    the one that may deliver what it still owes."""

    ws: Workspace
    _ended: set[str] = field(default_factory=set)
    _lately: list[str] = field(default_factory=list)
    _asked: bool = False

    def __call__(self, held: Collection[str] = ()) -> list[str]:
        """Ids of the runs not ended, oldest first; those in `held` are taken as not ended."""
        from drillkit.store.stores import open_store

        store = open_store(self.ws)
        unknown = [run_id for run_id in store.runs() if run_id not in self._ended and run_id not in held]
        open_ones = set(held)
        for run_id, first_line, tail in store.heads_and_tails(unknown) if unknown else ():
            summary = _summary_from(run_id, first_line, tail)
            if summary is not None and summary.ended is not None:
                self._ended.add(run_id)
                if self._asked and summary.mode != "simulation":
                    self._lately.append(run_id)
            else:  # one that cannot be read is tried too, so that its error is logged (`run.dropped`)
                open_ones.add(run_id)
        self._asked = True
        return sorted(open_ones)

    def ended_lately(self) -> list[str]:
        """The runs found ended since the last time this was asked (none that had ended before the first call)."""
        lately, self._lately = self._lately, []
        return lately


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


def _summary_from(run_id: str, first_line: bytes, tail: bytes) -> RunSummary | None:
    """A run's summary from its first line and its last bytes."""
    try:
        first = orjson.loads(first_line) if first_line.endswith(b"\n") else None
    except orjson.JSONDecodeError:
        return None
    return _checked_summary(run_id, first, tail) if isinstance(first, dict) else None


def _checked_summary(run_id: str, first: Event, tail: bytes) -> RunSummary | None:
    if not is_started(first) or not RUN_ID.fullmatch(run_id):
        return None
    try:
        return _summary_of(run_id, first, tail)
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
