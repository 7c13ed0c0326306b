"""Figures across runs (`drill report`): per playbook and overall, runs by mode, each metric's
median, p90 and share of targets met, breaches by owner role, and expectation verdicts.

Each record is read once and reduced to a small summary. Summaries are kept in
`logs/report-cache.json`, keyed by run id and valid while the record's last line hash (its head)
is unchanged, so a second report reads only the tails of the records. The last report's text is
kept in `logs/report-last.cache` under the question (drill's version, the selection,
the format, language and zone, the size and modification time of every record and of the
corrective actions' ledger, and the day overdue actions are counted on): the same report asked
again with nothing changed is read back whole. Incident figures leave drills and simulations out
unless asked for; corrective actions are counted whatever their run's mode.

Percentiles use the nearest-rank method: p90 is the smallest measured value that at least 90%
of the measured values do not exceed. The median is the middle value (the mean of the two
middle values for an even count).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

import drillkit
from drillkit.config.workspace import Workspace
from drillkit.model.clock import format_utc
from drillkit.model.errors import DrillError, RecordError, UsageError
from drillkit.model.timefmt import date_option
from drillkit.services.history import known_playbook
from drillkit.store.stamps import LEDGER, Stamp, Stamps, file_stamp, record_stamps

if TYPE_CHECKING:
    from drillkit.model.clock import Clock
    from drillkit.services.views import Tell
    from drillkit.store.port import RecordStore

CACHE_FILE = "report-cache.json"
LAST_FILE = "report-last.cache"
CACHE_VERSION = 6  # bumped when a summary or the figures would be computed differently
EVENT_KEY, NOTE_KEY = b'"event":"', b'"event":"note",'
TAIL = 4096  # bytes read from the end of a record for its head: the last line's hash
Summary = dict[str, Any]
Document = dict[str, Any]


class ReportQuestion(NamedTuple):
    """What `drill report` is asked. Named tuples here and below, not dataclasses: making a
    dataclass costs some 0.5 ms, and a report read back is a few ms of work in all."""

    since: str | None
    until: str | None
    playbook: str | None
    include_drills: bool
    key: tuple[str, str, str]  # format, language, zone: what the cached text depends on


def report_text(
    ws: Workspace, clock: Clock, question: ReportQuestion, render: Callable[[dict[str, object]], str], tell: Tell
) -> str:
    """`drill report`: the figures for the question, rendered (or the last answer, when nothing changed)."""
    zone = question.key[2]
    lower = bound(question.since, "--since", zone)
    upper = bound(question.until, "--until", zone, end_of_day=True)
    if lower is not None and upper is not None and lower >= upper:
        raise UsageError(f"--since {question.since} is not before --until {question.until}; no run could match")
    selection = Selection(
        since=lower,
        until=upper,
        playbook=known_playbook(ws, question.playbook) if question.playbook is not None else None,
        include_drills=question.include_drills,
    )
    return answer(ws, selection, question.key, render, clock.now(), catch_up=_due_recorder(ws, clock, tell))


def _due_recorder(ws: Workspace, clock: Clock, tell: Tell) -> Callable[[str], bool]:
    """Records what came due in an open run (as `status` does); a record that cannot be read is
    left to the report, which leaves it out."""

    def record(run_id: str) -> bool:
        from drillkit.services.views import record_due  # here: a report read back records nothing (store.files: ~5 ms)
        from drillkit.store.stores import open_store

        try:
            return record_due(ws, clock, run_id, open_store(ws).read(run_id), tell)
        except DrillError:
            return False

    return record


class Selection(NamedTuple):
    since: str | None = None  # inclusive, RFC 3339 UTC text
    until: str | None = None  # exclusive
    playbook: str | None = None
    include_drills: bool = False

    def admits(self, summary: Summary) -> bool:
        started = str(summary["started"])
        return (
            (self.include_drills or summary["mode"] == "incident")
            and (self.playbook is None or summary["playbook"] == self.playbook)
            and (self.since is None or started >= self.since)
            and (self.until is None or started < self.until)
        )


def bound(text: str | None, option: str, zone: str, *, end_of_day: bool = False) -> str | None:
    """A `--since`/`--until` value (in `zone` unless it names an offset) as RFC 3339 UTC text; a
    bare `--until` date includes that day."""
    if text is None:
        return None
    when = date_option(text, option, zone)
    if end_of_day and _is_date(text):
        when += timedelta(days=1)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _is_date(text: str) -> bool:
    """A date with no time of day (2026-11-01 or 20261101)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


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
        "started": events[0]["ts"],
        "metrics": [{k: m[k] for k in ("name", "value", "target", "verdict")} for m in metric_rows(rs, events)],
        "breaches": [e.get("owner") for e in events if e["event"] == breached],
        "expectations": [e["verdict"] for e in expectation_rows(rs, events)],
        "open": not rs.ended,
    }


class _Entries(NamedTuple):
    """The cache entries of the records readable as runs, by run id, and the records left out."""

    fresh: dict[str, dict[str, Any]]
    left_out: list[str]
    changed: bool  # differs from the cache kept

    def summaries(self) -> list[Summary]:
        return [entry["summary"] for entry in self.fresh.values()]

    def keep(self, ws: Workspace) -> None:
        if self.changed:
            _keep(ws, CACHE_FILE, orjson.dumps({"version": CACHE_VERSION, "runs": self.fresh}))


def summaries(ws: Workspace, stamps: Stamps | None = None) -> tuple[list[Summary], list[str]]:
    """A summary of every record (`stamps`: each record's file and stamp, when already taken),
    from the cache where the record's head is unchanged; and the records left out, which cannot
    be read as runs (`drill verify` names what is wrong with each). The cache is updated at once."""
    entries = _entries(ws, stamps)
    entries.keep(ws)
    return entries.summaries(), entries.left_out


def _entries(ws: Workspace, stamps: Stamps | None) -> _Entries:
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
    return _Entries(fresh, left_out, changed=fresh != cached)


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
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    head = _head(data[-TAIL:])
    if head is None:
        return None
    return {"head": head, "stamp": stamp, "summary": _summarise_bytes(data)}


def _summarise_bytes(data: bytes) -> Summary | None:
    """A record's summary; None for a record that is not a run (`drill verify` names it)."""
    from drillkit.store.files import is_started  # here: an answer read back reads no record (store.files: ~5 ms)
    from drillkit.store.reader import parse_lines

    try:
        events, _torn = parse_lines(_without_notes(data))
        return summarise(events) if events and is_started(events[0]) else None
    except (DrillError, KeyError, TypeError, ValueError):
        return None


def _without_notes(data: bytes) -> bytes:
    """The record's complete lines but the notes between its first and last line: no summary
    reads a note, and notes are most of a long incident's lines. A line is a note when its first
    `"event":"` is a note's: the keys a writer puts before `event` (v, seq, ts, t, run) hold no
    quote, so that first one is the event's own. The report does not prove the lines it skips,
    as it never proved the others: `drill verify` does."""
    lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)
    if len(lines) < 3:
        return data
    middle = [line for line in lines[1:-1] if not 0 <= line.find(NOTE_KEY) == line.find(EVENT_KEY)]
    return b"".join([lines[0], *middle, lines[-1]])


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


def _keep(ws: Workspace, name: str, data: bytes) -> None:
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


def median(values: list[float]) -> float | None:
    import statistics  # here: a report read back whole computes no figures

    return round(statistics.median(values), 3) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def figures(runs: list[Summary]) -> dict[str, Any]:
    """The figures of a set of runs (one playbook, or all of them)."""
    return {
        "runs": len(runs),
        "by_mode": dict(sorted(Counter(r["mode"] for r in runs).items())),
        "metrics": _metric_figures(runs),
        "breaches_by_owner": dict(sorted(Counter(o or "-" for r in runs for o in r["breaches"]).items())),
        "expectations": _verdicts(v for r in runs for v in r["expectations"]),
    }


def _metric_figures(runs: list[Summary]) -> list[dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for metric in run["metrics"]:
            by_name.setdefault(metric["name"], []).append(metric)
    return [_metric(name, rows) for name, rows in by_name.items()]


def _metric(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    values = [float(r["value"]) for r in rows if r["value"] is not None]
    verdicts = Counter(str(r["verdict"]) for r in rows)
    decided = verdicts["met"] + verdicts["missed"]
    return {
        "name": name,
        "runs": len(rows),
        "measured": len(values),
        "median": median(values),
        "p90": p90(values),
        "met": verdicts["met"],
        "missed": verdicts["missed"],
        "share_met": round(verdicts["met"] / decided, 4) if decided else None,
    }


def _verdicts(verdicts: Iterable[str]) -> dict[str, int]:
    counts = Counter(verdicts)
    return {verdict: counts[verdict] for verdict in ("met", "late", "missed", "pending", "void")}


def answer(  # noqa: PLR0917  # the question's parts, each named at the one caller
    ws: Workspace,
    selection: Selection,
    form: tuple[str, ...],
    render: Callable[[Document], str],
    now: datetime,
    catch_up: Callable[[str], bool] = lambda _run_id: False,
) -> str:
    """The report as `render` writes it (`form`: what else shapes the text: format, language,
    zone); the last answer is read back when the same question is asked of unchanged records.

    Open runs are judged as of now: `catch_up` records what came due in one (True when it wrote
    something) before the records are stamped, so a target passed since the last command counts.
    Which runs are open is kept with the last answer too: asked again of the same records, the
    report reads neither the summary cache nor any record. Corrective actions are counted as of
    `now` too (or the period's end, if sooner): the answer kept names that day and the ledger's stamp."""
    end = _period_end(selection, now)
    if ws.store_url() is not None:
        return render(_team_report(ws, selection, catch_up, end))
    stamps = record_stamps(ws.runs)
    records, last = _records_key(stamps), _LastAnswer.read(ws)
    open_runs = last.open if last is not None and last.records == records else _maybe_open(ws, stamps)
    if [run_id for run_id in open_runs if catch_up(run_id)]:
        stamps = record_stamps(ws.runs)
        records = _records_key(stamps)
    version = [drillkit.__version__, CACHE_VERSION]  # another drill may render differently
    question = orjson.dumps([version, selection._asdict(), form, end[:10], file_stamp(ws.logs / LEDGER)])
    if last is not None and last.question == question and last.records == records:
        return last.text
    document, entries = _report(ws, selection, end, stamps)
    text = render(document)
    entries.keep(ws)  # only now: a report that fails leaves no cache written
    _LastAnswer(question, records, _maybe_open(ws, stamps), text).keep(ws)
    return text


def _period_end(selection: Selection, now: datetime) -> str:
    """When overdue actions are counted: the period's end, or now if that comes first."""
    now_text = format_utc(now)
    return min(now_text, selection.until or now_text)


def _actions(ws: Workspace, selection: Selection, end: str) -> Document:
    """The corrective actions of the selected playbook in the period (all of them, drills'
    included: actions come from drills far more often than from incidents)."""
    from drillkit.engine.corrective import Period, period_figures, replay_actions  # not for an answer read back
    from drillkit.store.stores import open_ledger

    chosen = [a for a in replay_actions(open_ledger(ws).read()).values() if selection.playbook in (None, a.playbook)]
    return period_figures(chosen, Period(selection.since, selection.until, end))


def _records_key(stamps: Stamps) -> bytes:
    """Names the records as they are: a record only grows, so any append changes its stamp."""
    return orjson.dumps({run_id: stamp for run_id, (_file, stamp) in stamps.items()})


class _LastAnswer(NamedTuple):
    """The last report written, with the question it answers, the records it was asked of and
    which of them were open: one header line, then the text. The question and the records are
    kept whole, as JSON, and compared as orjson writes them: no digest, whose hashlib would cost
    an answer read back some 3 ms to import, and no two questions can share one."""

    question: bytes
    records: bytes
    open: list[str]
    text: str

    @classmethod
    def read(cls, ws: Workspace) -> _LastAnswer | None:
        try:
            header, _newline, text = (ws.logs / LAST_FILE).read_bytes().partition(b"\n")
            fields = orjson.loads(header)
            if fields["size"] != len(text):  # cut short (a full disk, a crash: kept without fsync)
                return None
            question, records = orjson.dumps(fields["question"]), orjson.dumps(fields["records"])
            return cls(question, records, list(fields["open"]), text.decode("utf-8"))
        except (OSError, orjson.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            return None

    def keep(self, ws: Workspace) -> None:
        text = self.text.encode("utf-8")
        question, records = orjson.Fragment(self.question), orjson.Fragment(self.records)
        header = orjson.dumps({"question": question, "records": records, "open": self.open, "size": len(text)})
        _keep(ws, LAST_FILE, header + b"\n" + text)


def _maybe_open(ws: Workspace, stamps: Stamps) -> list[str]:
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


def _team_report(ws: Workspace, selection: Selection, catch_up: Callable[[str], bool], end: str) -> Document:
    """The report over a team store: each record read through the store (its caches are files
    of one machine, kept for the file store); open runs caught up first."""
    from drillkit.store.stores import open_store

    store = open_store(ws)
    runs, left_out = [], []
    for run_id in store.runs():
        summary = _summarise_run(store, run_id)
        if summary is not None and summary["open"] and catch_up(run_id):
            summary = _summarise_run(store, run_id)
        if summary is None:
            left_out.append(run_id)
        else:
            runs.append(summary)
    return _document(selection, runs, left_out, _actions(ws, selection, end))


def _summarise_run(store: RecordStore, run_id: str) -> Summary | None:
    from drillkit.store.files import is_started  # here: an answer read back reads no record (store.files: ~5 ms)

    try:
        events = store.read(run_id)
        return summarise(events) if events and is_started(events[0]) else None
    except (DrillError, KeyError, TypeError, ValueError):
        return None


def _report(ws: Workspace, selection: Selection, end: str, stamps: Stamps) -> tuple[Document, _Entries]:
    """The `drill report` document (the selection, the overall figures and each playbook's, and
    the corrective actions in the period), and the cache entries it was made from, to keep once
    it has been rendered."""
    entries = _entries(ws, stamps)
    return _document(selection, entries.summaries(), entries.left_out, _actions(ws, selection, end)), entries


def _document(selection: Selection, runs: list[Summary], left_out: list[str], actions: Document) -> Document:
    chosen = sorted((s for s in runs if selection.admits(s)), key=lambda s: (s["started"], s["id"]))
    playbooks = sorted({s["playbook"] for s in chosen})
    return {
        "since": selection.since,
        "until": selection.until,
        "playbook": selection.playbook,
        "include_drills": selection.include_drills,
        "overall": figures(chosen),
        "playbooks": {p: figures([s for s in chosen if s["playbook"] == p]) for p in playbooks},
        "series": _series(chosen),
        "actions": actions,
        "left_out": left_out,
    }


def _series(runs: list[Summary]) -> list[dict[str, Any]]:
    """Each playbook metric's measured values over time, for charts."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        for metric in run["metrics"]:
            key = (run["playbook"], metric["name"])
            line = found.setdefault(key, {"playbook": key[0], "metric": key[1], "points": []})
            if metric["value"] is not None:
                line["points"].append({"started": run["started"], "value": metric["value"], "target": metric["target"]})
    return list(found.values())
