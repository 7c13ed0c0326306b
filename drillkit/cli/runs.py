"""Runs: `open`, `act`, `check`, `note`, `assign`, `severity`, `abort`, `status`, `runs`, `verify`."""

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from drillkit.cli.common import actor, print_json, record_due, say, warn, workspace

if TYPE_CHECKING:
    from drillkit.store.verify import Verdict

RUN = typer.Argument(..., help="Run id (see `drill runs`).")
BY = typer.Option(None, "--by", help="Who acts (default: $DRILL_USER, then the login name).")
NOTE = typer.Option(None, "--note", help="Free-text note kept with the event.")


class RunMode(StrEnum):
    incident = "incident"
    drill = "drill"
    simulation = "simulation"


def _apply(run: str, make: Callable[[Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    from drillkit.model.clock import default_clock
    from drillkit.services.runs import apply

    return apply(workspace(), default_clock(), run, make)


def _confirm(events: list[dict[str, Any]]) -> None:
    from drillkit.render.lines import event_line

    for event in events:
        warn(event_line(event))


def open_(
    playbook: str = typer.Argument(..., help="Playbook id."),
    severity: str = typer.Option(
        ..., "--severity", "-s", help="Severity: id (II), label or half of it (Major), or grade (重大)."
    ),
    title: str | None = typer.Option(None, "--title", help="Incident title (default: the playbook's)."),
    assign: list[str] = typer.Option([], "--as", help="ROLE=NAME, repeatable."),
    by: str | None = BY,
) -> None:
    """Open a real incident; prints the new run id alone on stdout."""
    from drillkit.model.clock import default_clock
    from drillkit.services.runs import open_incident

    ws = workspace()
    _warn_if_notifiers_broken(ws)
    run_id = open_incident(
        ws,
        default_clock(),
        playbook,
        severity=severity,
        by=actor(by),
        title=title,
        assignments=assign,
    )
    say(run_id)


def _warn_if_notifiers_broken(ws: Any) -> None:
    """A real incident is opened even when drill.toml is broken, but not silently."""
    from drillkit.config.notifiers import parse_notifiers
    from drillkit.model.errors import UsageError

    notifiers = ws.config().notify  # a drill.toml that cannot be read at all stops the command
    try:
        parse_notifiers(notifiers)
    except UsageError as err:
        warn(f"drill: warning: {err}; no conductor or notifier will run until drill.toml is fixed")


def act(
    run: str = RUN,
    trigger: str = typer.Argument(..., help="Trigger to fire."),
    by: str | None = BY,
    role: str | None = typer.Option(None, "--role", help="Role to act in (default: the one you hold)."),
    note: str | None = NOTE,
) -> None:
    """Fire a transition."""
    from drillkit.engine import decide

    who = actor(by)
    _confirm(_apply(run, lambda rs: decide.act(rs, trigger, who, role, note)))


def check(
    run: str = RUN,
    item: str = typer.Argument(..., help="Checklist item id."),
    by: str | None = BY,
    role: str | None = typer.Option(None, "--role", help="Role to act in (default: the one you hold)."),
    note: str | None = NOTE,
) -> None:
    """Mark a checklist item done."""
    from drillkit.engine import decide

    who = actor(by)
    _confirm(_apply(run, lambda rs: decide.check(rs, item, who, role, note)))


def note(run: str = RUN, text: str = typer.Argument(..., help="The note."), by: str | None = BY) -> None:
    """Add a note to the record."""
    from drillkit.engine import decide

    who = actor(by)
    _confirm(_apply(run, lambda rs: decide.note(rs, text, who, None)))


def assign(
    run: str = RUN,
    role: str = typer.Argument(..., help="Role id."),
    person: str = typer.Argument(..., help="Who takes the role."),
    by: str | None = BY,
) -> None:
    """Give a role to a person (accountability follows from then on)."""
    from drillkit.engine import decide
    from drillkit.model.names import check_name

    who, name = actor(by), check_name(person, "person")
    _confirm(_apply(run, lambda rs: decide.assign(rs, role, name, who)))


def severity(
    run: str = RUN,
    level: str = typer.Argument(..., help="New severity: id (I), label or half of it (Major), or grade (重大)."),
    by: str | None = BY,
    reason: str = typer.Option(..., "--reason", help="Why the severity changes."),
) -> None:
    """Change the run's severity."""
    from drillkit.engine import decide

    who = actor(by)
    _confirm(_apply(run, lambda rs: decide.severity(rs, level, who, reason)))


def abort(
    run: str = RUN,
    by: str | None = BY,
    reason: str = typer.Option(..., "--reason", help="Why the run is aborted."),
) -> None:
    """End a run as aborted."""
    from drillkit.engine import decide

    who = actor(by)
    _confirm(_apply(run, lambda rs: decide.abort(rs, who, reason)))


def status(
    run: str | None = typer.Argument(None, help="Run id (default: every run not ended)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """State, clocks, allowed triggers, open checklist items, deadlines and breaches."""
    from drillkit.engine.replay import RunState
    from drillkit.engine.status import status_document
    from drillkit.model.clock import default_clock
    from drillkit.render.lines import status_text
    from drillkit.store.files import RunRecord
    from drillkit.store.index import open_runs

    ws, clock = workspace(), default_clock()

    def document(run_id: str) -> dict[str, Any]:
        events = RunRecord(ws, run_id).read()
        if record_due(ws, clock, run_id, events):
            events = RunRecord(ws, run_id).read()
        return status_document(RunState.replay(events), events, clock.now())

    docs, unreadable = ([document(run)], 0) if run else _each_readable(open_runs(ws), document)
    if as_json:
        print_json(docs[0] if run else docs)
    else:
        from drillkit.cli.common import display_zone

        zone = display_zone(ws)
        say("\n\n".join(status_text(doc, zone) for doc in docs) if docs else "no open runs")
    if unreadable:
        raise typer.Exit(1)


def _each_readable(run_ids: list[str], document: Callable[[str], dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Every run's document; a run whose record cannot be read is named on stderr and the
    others are still shown (one damaged record does not hide the incidents that are fine)."""
    from drillkit.model.errors import DrillError

    docs, unreadable = [], 0
    for run_id in run_ids:
        try:
            docs.append(document(run_id))
        except DrillError as err:
            warn(f"drill: {err}")
            unreadable += 1
    return docs, unreadable


def runs(
    since: str | None = typer.Option(None, "--since", help="Only runs started on or after DATE (YYYY-MM-DD)."),
    playbook: str | None = typer.Option(None, "--playbook", help="Only runs of this playbook."),
    mode: RunMode | None = typer.Option(None, "--mode", help="incident, drill or simulation."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """The runs, newest first."""
    from dataclasses import asdict

    from drillkit.cli.common import display_zone
    from drillkit.model.timefmt import since_filter
    from drillkit.render.lines import runs_table
    from drillkit.services.history import known_playbook
    from drillkit.store.index import read_runs

    ws = workspace()
    keep = since_filter(since, display_zone(ws))
    if playbook is not None:
        known_playbook(ws, playbook)
    wanted = mode.value if mode else None
    every, left_out = read_runs(ws)
    if left_out:
        names = ", ".join(left_out)
        warn(f"drill: {len(left_out)} record(s) left out, not readable as runs: {names} (see `drill verify --all`)")
    found = [s for s in every if keep(s.started) and (playbook in (None, s.playbook)) and (wanted in (None, s.mode))]
    if as_json:
        print_json([asdict(s) for s in found])
        return
    say(runs_table(found, display_zone(ws)) if found else "no runs")


def verify(
    runs: list[str] | None = typer.Argument(None, help="Run ids (default: every run)."),
    all_runs: bool = typer.Option(False, "--all", help="Verify every record in the workspace."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Check records' hash chains; exit 1 naming the first bad line of each bad record, 2 if one cannot be read.

    A record that cannot be read gets no verdict (it is no evidence of tampering) but a line on
    stderr, and the others are still verified."""
    from drillkit.model.errors import UsageError
    from drillkit.store.files import check_run_id, workspace_key
    from drillkit.store.verify import runs_to_verify, verify_files

    if all_runs and runs:
        raise UsageError("give run ids or --all, not both")
    ws = workspace()
    ids = [check_run_id(r) for r in (runs or [])]
    key = workspace_key(ws)
    verdicts, unreadable = verify_files(runs_to_verify(ws.runs, ids), key)
    if as_json:
        print_json([v.as_json() for v in verdicts])
    else:
        for v in verdicts:
            say(_verdict_line(v, keyed=key is not None))
    for reason in unreadable:
        warn(f"drill: {reason}")
    if any(v.verdict == "tampered" for v in verdicts):
        raise typer.Exit(1)
    if unreadable:
        raise typer.Exit(2)


def _verdict_line(v: "Verdict", *, keyed: bool) -> str:
    """One record's verdict; in a workspace with a key, a record chained without it says so (a
    reviewer should ask why: it may be older than the key, or rewritten by someone without it)."""
    unkeyed = " (plain SHA-256, not the workspace key)" if keyed and v.chain == "sha256" else ""
    where = f" at line {v.line}: {v.problem}" if v.verdict == "tampered" else ""
    torn = f" (torn tail of {v.torn_bytes} bytes, set aside on the next append)" if v.torn_bytes else ""
    return f"{v.run}: {v.verdict}{unkeyed}{where}{torn} — {v.events} events" + (f", head {v.head}" if v.head else "")


def register(app: typer.Typer) -> None:
    app.command("open")(open_)
    for command in (act, check, note, assign, severity, abort, status, runs, verify):
        app.command()(command)
