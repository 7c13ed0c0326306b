"""Figures across runs (`drill report`): per playbook and overall, runs by mode, each metric's
median, p90 and share of targets met, breaches by owner role, and expectation verdicts.

Each run is reduced to a small summary, kept in `logs/report-cache.json`
(`services/report_summaries.py`). The last report's text is kept in `logs/report-last.cache`
under the question (drill's version, the selection, the format, language and zone, the size and
modification time of every record and of the corrective actions' ledger, and the day overdue
actions are counted on): the same report asked again with nothing changed is read back whole.
Incident figures leave drills and simulations out unless asked for; corrective actions are
counted whatever their run's mode.

Percentiles use the nearest-rank method: p90 is the smallest measured value that at least 90%
of the measured values do not exceed. The median is the middle value (the mean of the two
middle values for an even count).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

import drillkit
from drillkit.config.workspace import Workspace
from drillkit.model.clock import format_utc
from drillkit.model.errors import DrillError, UsageError
from drillkit.model.timefmt import date_option
from drillkit.services.history import known_playbook
from drillkit.services.report_summaries import (
    CACHE_VERSION,
    Summary,
    SummaryEntries,
    keep_cache_file,
    maybe_open,
    summarised,
    summary_entries,
)
from drillkit.store.stamps import LEDGER, Stamps, file_stamp, record_stamps

if TYPE_CHECKING:
    from drillkit.model.clock import Clock
    from drillkit.services.views import Tell

LAST_FILE = "report-last.cache"
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
    open_runs = last.open if last is not None and last.records == records else maybe_open(ws, stamps)
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
    _LastAnswer(question, records, maybe_open(ws, stamps), text).keep(ws)
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
        keep_cache_file(ws, LAST_FILE, header + b"\n" + text)


def _team_report(ws: Workspace, selection: Selection, catch_up: Callable[[str], bool], end: str) -> Document:
    """The report over a team store: every run summarised from the lines the store sends for it
    (its caches are files of one machine, kept for the file store); open runs caught up, and
    those that were summarised again."""
    from drillkit.store.stores import open_store

    store = open_store(ws)
    found = summarised(store)
    caught_up = [
        run_id for run_id, summary in found.items() if summary is not None and summary["open"] and catch_up(run_id)
    ]
    if caught_up:
        found |= summarised(store, caught_up)
    runs = [summary for summary in found.values() if summary is not None]
    left_out = [run_id for run_id, summary in found.items() if summary is None]
    return _document(selection, runs, left_out, _actions(ws, selection, end))


def _report(ws: Workspace, selection: Selection, end: str, stamps: Stamps) -> tuple[Document, SummaryEntries]:
    """The `drill report` document (the selection, the overall figures and each playbook's, and
    the corrective actions in the period), and the cache entries it was made from, to keep once
    it has been rendered."""
    entries = summary_entries(ws, stamps)
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
