"""What the showing commands show: each run brought up to date first (SPEC §4: every command
that touches a run records what came due), then read again and made into its document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import DrillError
from drillkit.model.timefmt import since_filter
from drillkit.store.port import Event
from drillkit.store.stores import open_store

if TYPE_CHECKING:
    from drillkit.store.index import RunSummary

Tell = Callable[[str], None]  # where a diagnostic goes: the command's stderr
Document = dict[str, Any]


def record_due(ws: Workspace, clock: Clock, run_id: str, events: list[Event], tell: Tell) -> bool:
    """What came due in an open run recorded before it is shown; True when anything was written.
    A reader who may not write is told that the run is shown as written."""
    from drillkit.services.runs import ReaderCatchUp, catch_up_for_reader

    outcome = catch_up_for_reader(ws, clock, run_id, events)
    if outcome is ReaderCatchUp.NOT_WRITABLE:
        tell(
            f"drill: {run_id} has deadlines or injects due that only a writer can record; showing the record as written"
        )
    return outcome is ReaderCatchUp.RECORDED


def current_events(ws: Workspace, clock: Clock, run_id: str, tell: Tell) -> list[Event]:
    """A run's events once what came due is recorded."""
    events = open_store(ws).read(run_id)
    if record_due(ws, clock, run_id, events, tell):
        events = open_store(ws).read(run_id)
    return events


@dataclass(frozen=True)
class Statuses:
    documents: list[Document]
    unreadable: int  # open runs whose record could not be read (each named on stderr)
    one_run: bool = False  # a run was named: its document alone, not a list

    def document(self) -> Document | list[Document]:
        """The `drill status --json` document."""
        return self.documents[0] if self.one_run else self.documents

    @property
    def exit_code(self) -> int:
        return 1 if self.unreadable else 0


def statuses(ws: Workspace, clock: Clock, run_id: str | None, tell: Tell) -> Statuses:
    """`drill status`: one run's document, or every open run's."""
    from drillkit.engine.replay import RunState
    from drillkit.engine.status import status_document
    from drillkit.store.index import open_runs

    def document(one: str) -> Document:
        events = current_events(ws, clock, one, tell)
        return status_document(RunState.replay(events), events, clock.now())

    if run_id:
        return Statuses([document(run_id)], 0, one_run=True)
    return _each_readable(open_runs(ws), document, tell)


WATCH_REDRAW = 1.0  # seconds: the clocks and time left move on even when nothing is appended


def watch_status(ws: Workspace, clock: Clock, run_id: str, tell: Tell, show: Callable[[Document], None]) -> None:
    """`drill status RUN --watch`: show the status, then again whenever an event arrives (from
    any process, or any machine sharing a team store) or a second has passed, until the run
    ends (shown once more) or the caller stops it."""
    from drillkit.engine.replay import RunState
    from drillkit.engine.status import status_document

    store = open_store(ws)
    events = current_events(ws, clock, run_id, tell)
    state = RunState.replay(events)
    while True:
        show(status_document(state, events, clock.now()))
        if state.ended:
            return
        for event in store.watch(run_id, events[-1]["seq"], WATCH_REDRAW, clock):
            events.append(event)
            state.apply(event)


def _each_readable(run_ids: list[str], document: Callable[[str], Document], tell: Tell) -> Statuses:
    """Every run's document; a run whose record cannot be read is named and the others are
    still shown (one damaged record does not hide the incidents that are fine)."""
    docs, unreadable = [], 0
    for run_id in run_ids:
        try:
            docs.append(document(run_id))
        except DrillError as err:
            tell(f"drill: {err}")
            unreadable += 1
    return Statuses(docs, unreadable)


def run_list(
    ws: Workspace, *, since: str | None, playbook: str | None, mode: str | None, zone: str, tell: Tell
) -> list[RunSummary]:
    """`drill runs`: the run summaries that match, newest first; records not readable as runs are named."""
    from drillkit.services.history import known_playbook, listed_runs

    keep = since_filter(since, zone)
    if playbook is not None:
        known_playbook(ws, playbook)
    every = listed_runs(ws, tell)
    return [s for s in every if keep(s.started) and (playbook in (None, s.playbook)) and (mode in (None, s.mode))]


@dataclass(frozen=True)
class RunVerdict:
    """A run's verdict in the list of runs: `met` when every metric target and inject expectation
    judged so far was met, `missed` when one was missed or late, `pending` while the run is open
    and none was missed yet, `unmeasured` when nothing was judged. Breaches are counted beside it:
    a scenario may allow one (SPEC §3), so a breach alone does not make the verdict."""

    verdict: str
    severity: str  # the run's severity now, from its whole record
    met: int  # targets and expectations met
    judged: int  # targets and expectations judged (met, late or missed)
    breaches: int


_JUDGED = ("met", "late", "missed")


def run_verdicts(ws: Workspace, run_ids: list[str]) -> dict[str, RunVerdict]:
    """The verdicts of the runs listed, from the summaries `drill report` keeps (a record
    unchanged since the last report or list is not read again); with a team store, from the
    lines it sends of each run listed, notes left out (those caches are files of one machine)."""
    from drillkit.services.report_summaries import summaries, summarised

    if ws.store_url() is None:
        return {summary["id"]: _verdict(summary) for summary in summaries(ws)[0]}
    read = summarised(open_store(ws), run_ids)
    return {run_id: _verdict(summary) for run_id, summary in read.items() if summary is not None}


def _verdict(summary: dict[str, Any]) -> RunVerdict:
    verdicts = [m["verdict"] for m in summary["metrics"]] + list(summary["expectations"])
    judged = [v for v in verdicts if v in _JUDGED]
    met = judged.count("met")
    if met < len(judged):
        word = "missed"
    elif summary["open"]:
        word = "pending"
    else:
        word = "met" if judged else "unmeasured"
    return RunVerdict(word, summary["severity"], met, len(judged), len(summary["breaches"]))


def runs_document(found: list[RunSummary], verdicts: dict[str, RunVerdict]) -> list[Document]:
    """The `drill runs --json` document: each run's summary with its verdict, breaches and counts
    (null when the record could not be judged)."""
    return [asdict(summary) | _verdict_fields(verdicts.get(summary.id)) for summary in found]


def _verdict_fields(verdict: RunVerdict | None) -> Document:
    if verdict is None:
        return {"verdict": None, "met": None, "judged": None, "breaches": None}
    return asdict(verdict)
