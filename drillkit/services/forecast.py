"""`drill forecast` (SPEC §11): gather a playbook's past runs from the records and ask the engine.

A past run counts when it reached a final state (an aborted or timed-out run says nothing about
how long a stay would have lasted). Incidents count; drills and simulations only with
`--include-drills`. A run counts at its last severity: the grade it ended with.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.engine.fields import reads_a_line
from drillkit.model.errors import NotFound, RecordError, UsageError
from drillkit.model.events import EventType
from drillkit.model.plans import Playbook
from drillkit.store.files import effective_t
from drillkit.store.port import Event

if TYPE_CHECKING:
    from drillkit.engine.forecast import PastRun
    from drillkit.services.views import Tell
    from drillkit.store.index import RunSummary


MAX_RUNS = 10_000_000  # simulated runs: about 1 GB of working arrays at this size


@dataclass(frozen=True, kw_only=True)
class Question:
    playbook: str
    severity: str
    runs: int = 100_000
    seed: int = 0
    since: str | None = None
    include_drills: bool = False
    what_if: tuple[str, ...] = ()
    distributions: bool = False  # each metric's spread too (for the HTML page)


def forecast(ws: Workspace, question: Question, zone: str, tell: Tell) -> dict[str, Any]:
    """The forecast document: the question, what the answer rests on, the plan and any what-if.
    Records that cannot be read as runs are named through `tell`: the answer rests on the others."""
    from drillkit.engine import forecast as engine
    from drillkit.services.history import listed_runs
    from drillkit.services.report import bound

    pb = _playbook(ws, question.playbook)
    severity = pb.severity_named(question.severity)
    if severity is None:
        raise UsageError(f"--severity {question.severity!r}: {pb.playbook} has {pb.severity_choices()}")
    if not 1 <= question.runs <= MAX_RUNS:
        raise UsageError(f"--runs {question.runs}: must be from 1 to {MAX_RUNS:,}")
    if question.seed < 0:
        raise UsageError(f"--seed {question.seed}: must be 0 or more")
    what_if = engine.parse_what_if(question.what_if, pb) if question.what_if else None
    since = bound(question.since, "--since", zone)
    history = past_runs(ws, listed_runs(ws, tell), pb, since=since, include_drills=question.include_drills, tell=tell)
    basis = engine.choose_basis(history, severity)
    answer = engine.forecast(
        pb,
        severity,
        basis,
        runs=question.runs,
        seed=question.seed,
        what_if=what_if,
        distributions=question.distributions,
    )
    return {
        "playbook": pb.playbook,
        "title": pb.title,
        "severity": severity,
        "runs": question.runs,
        "seed": question.seed,
        "since": since,
        "include_drills": question.include_drills,
        "basis": {
            "kind": basis.kind,
            "runs": len(basis.runs),
            "own": sum(run.severity == severity for run in history),
            "severities": sorted({run.severity for run in basis.runs}),
            "enough": engine.ENOUGH,
        },
        "plan": answer["plan"],
        "what_if": None if what_if is None else {"changes": what_if.changes(), **answer["what_if"]},
    }


def _playbook(ws: Workspace, playbook_id: str) -> Playbook:
    from drillkit.plans.library import Plans

    plans = Plans(ws)
    known = plans.playbook_ids()
    if playbook_id not in known:
        raise UsageError(f"no playbook {playbook_id!r}; playbooks: {', '.join(known) or '(none)'}")
    return plans.playbook(playbook_id)


def past_runs(
    ws: Workspace,
    summaries: list[RunSummary],
    pb: Playbook,
    *,
    since: str | None,
    include_drills: bool,
    tell: Tell,
) -> list[PastRun]:
    """The playbook's resolved runs since `since` among `summaries` (newest first, as listed), as
    the engine's `PastRun`s, oldest first. A record whose first and last lines read but another
    line does not (not JSON: corruption, which `drill verify` reports) is left out and named
    through `tell`, as the listing does. A line that parses but lacks a field the forecast reads
    (edited by hand and rechained) is refused at its seq, as every reader of a run refuses it."""
    from drillkit.store.stores import open_store

    store = open_store(ws)
    chosen = [
        summary
        for summary in summaries
        if summary.playbook == pb.playbook
        and summary.outcome == "resolved"
        and (include_drills or summary.mode == "incident")
        and (since is None or summary.started >= since)
    ]
    found, left_out = [], []
    for summary in reversed(chosen):
        try:
            events = store.read(summary.id)
        except (RecordError, NotFound):
            left_out.append(f"{summary.id}.jsonl")
        else:
            found.append(past_run(events))
    if left_out:
        names = ", ".join(left_out)
        tell(f"drill: {len(left_out)} record(s) left out, not readable as runs: {names} (see `drill verify --all`)")
    return found


def past_run(events: list[Event]) -> PastRun:
    """One record as a `PastRun`: its finished stays, when each item was first done, its last severity."""
    from drillkit.engine.forecast import PastRun, Stay
    from drillkit.engine.metrics import state_spans

    for event in events:
        if event["event"] == EventType.TRANSITION:
            _entry(event)  # what the stays are read from, so that a line lacking it is named at its seq
    spans = state_spans(events)
    stays = tuple(
        Stay(span.state, span.end - span.start, after.state, span.left_by == "system")
        for span, after in pairwise(spans)
    )
    checks: dict[str, float] = {}
    severity = str(events[0]["severity"])
    for event in events:
        if event["event"] == EventType.CHECK_DONE:
            item, t = _check(event)
            checks.setdefault(item, t)
        elif event["event"] == EventType.SEVERITY_CHANGED:
            severity = _severity(event)
    return PastRun(severity, stays, checks)


@reads_a_line
def _entry(event: Event) -> tuple[float, str]:
    return effective_t(event), str(event["to"])


@reads_a_line
def _check(event: Event) -> tuple[str, float]:
    return str(event["item"]), float(event["t"])


@reads_a_line
def _severity(event: Event) -> str:
    return str(event["to"])
