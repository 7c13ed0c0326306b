"""Runs: `open`, `act`, `check`, `note`, `assign`, `severity`, `abort`, `annotate`, `status`, `runs`, `verify`."""

from enum import StrEnum
from typing import Any

import typer

from drillkit.cli.common import display_zone, exit_with, print_json, say, warn, workspace
from drillkit.model.clock import default_clock
from drillkit.model.errors import UsageError
from drillkit.model.names import check_person

RUN = typer.Argument(..., help="Run id (see `drill runs`).")
BY = typer.Option(
    None,
    "--by",
    help="Who acts: one of the run's people, or on drill.toml's [people] roster "
    "(default: $DRILL_USER, then the login name, if they may act).",
)
NOTE = typer.Option(None, "--note", help="Free-text note kept with the event.")


class RunMode(StrEnum):
    incident = "incident"
    drill = "drill"
    simulation = "simulation"


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
    assign: list[str] = typer.Option([], "--as", help="ROLE=NAME, repeatable (on the roster if drill.toml has one)."),
    by: str | None = BY,
) -> None:
    """Open a real incident; prints the new run id alone on stdout."""
    from drillkit.services.actions import open_run

    ws = workspace()
    say(open_run(ws, default_clock(), playbook, severity=severity, by=by, title=title, assignments=assign, tell=warn))


def act(
    run: str = RUN,
    trigger: str = typer.Argument(..., help="Trigger to fire."),
    by: str | None = BY,
    role: str | None = typer.Option(None, "--role", help="Role to act in (default: the one you hold)."),
    note: str | None = NOTE,
) -> None:
    """Fire a transition."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.act(workspace(), default_clock(), run, trigger, who=who, role=role, note=note))


def check(
    run: str = RUN,
    item: str = typer.Argument(..., help="Checklist item id."),
    by: str | None = BY,
    role: str | None = typer.Option(None, "--role", help="Role to act in (default: the one you hold)."),
    note: str | None = NOTE,
) -> None:
    """Mark a checklist item done."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.check(workspace(), default_clock(), run, item, who=who, role=role, note=note))


def note(run: str = RUN, text: str = typer.Argument(..., help="The note."), by: str | None = BY) -> None:
    """Add a note to the record."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.add_note(workspace(), default_clock(), run, text, who=who))


def assign(
    run: str = RUN,
    role: str = typer.Argument(..., help="Role id."),
    person: str = typer.Argument(..., help="Who takes the role."),
    by: str | None = BY,
) -> None:
    """Give a role to a person (accountability follows from then on)."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who, name = acting_person(by), check_person(person, "person")
    _confirm(actions.assign(workspace(), default_clock(), run, role, name, who=who))


def severity(
    run: str = RUN,
    level: str = typer.Argument(..., help="New severity: id (I), label or half of it (Major), or grade (重大)."),
    by: str | None = BY,
    reason: str = typer.Option(..., "--reason", help="Why the severity changes."),
) -> None:
    """Change the run's severity."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.change_severity(workspace(), default_clock(), run, level, who=who, reason=reason))


def abort(
    run: str = RUN,
    by: str | None = BY,
    reason: str = typer.Option(..., "--reason", help="Why the run is aborted."),
) -> None:
    """End a run as aborted."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.abort(workspace(), default_clock(), run, who=who, reason=reason))


def annotate(
    run: str = RUN,
    seq: int = typer.Argument(..., help="The seq of the event annotated (see `drill timeline`)."),
    text: str = typer.Argument(..., help="The correction or context."),
    by: str | None = BY,
) -> None:
    """Annotate one event of an ended run: a correction or context shown under it (the event stays)."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.annotate(workspace(), default_clock(), run, seq, text, who=who))


def status(
    run: str | None = typer.Argument(None, help="Run id (default: every run not ended)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """State, clocks, allowed triggers, open checklist items, deadlines and breaches."""
    from drillkit.render.lines import status_text
    from drillkit.services.views import statuses

    ws = workspace()
    found = statuses(ws, default_clock(), run, warn)
    if as_json:
        print_json(found.document())
    else:
        zone = display_zone(ws)
        say("\n\n".join(status_text(doc, zone) for doc in found.documents) if found.documents else "no open runs")
    exit_with(found.exit_code)


def runs(
    since: str | None = typer.Option(None, "--since", help="Only runs started on or after DATE (YYYY-MM-DD)."),
    playbook: str | None = typer.Option(None, "--playbook", help="Only runs of this playbook."),
    mode: RunMode | None = typer.Option(None, "--mode", help="incident, drill or simulation."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """The runs, newest first."""
    from drillkit.render.lines import runs_table
    from drillkit.services.views import run_list, runs_document

    ws = workspace()
    wanted = mode.value if mode else None
    found = run_list(ws, since=since, playbook=playbook, mode=wanted, zone=display_zone(ws), tell=warn)
    if as_json:
        print_json(runs_document(found))
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
    from drillkit.render.summaries import verification_line
    from drillkit.services.review import verify_runs

    if all_runs and runs:
        raise UsageError("give run ids or --all, not both")
    checked = verify_runs(workspace(), runs or [])
    if as_json:
        print_json(checked.document())
    else:
        for verdict in checked.verdicts:
            say(verification_line(verdict, keyed=checked.keyed))
    for reason in checked.unreadable:
        warn(f"drill: {reason}")
    exit_with(checked.exit_code)


def register(app: typer.Typer) -> None:
    app.command("open")(open_)
    for command in (act, check, note, assign, severity, abort, annotate, status, runs, verify):
        app.command()(command)
