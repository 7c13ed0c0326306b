"""Runs: `open`, `act`, `check`, `note`, `assign`, `severity`, `abort`, `annotate`, `status`, `runs`, `verify`."""

import contextlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from drillkit.cli.common import (
    Lang,
    colour_ok,
    display_zone,
    exit_with,
    print_json,
    records_argument,
    run_argument,
    say,
    warn,
    workspace,
)
from drillkit.cli.completion import (
    complete_items,
    complete_people,
    complete_playbook_roles,
    complete_playbooks,
    complete_roles,
    complete_triggers,
)
from drillkit.config.workspace import Workspace
from drillkit.model.clock import default_clock
from drillkit.model.errors import UsageError
from drillkit.model.names import check_person

RUN = run_argument()
BY = typer.Option(
    None,
    "--by",
    help="Who acts: one of the run's people, or on drill.toml's [people] roster "
    "(default: $DRILL_USER, then the login name, if they may act).",
    autocompletion=complete_people,
)
ROLE = typer.Option(None, "--role", help="Role to act in (default: the one you hold).", autocompletion=complete_roles)
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
    playbook: str = typer.Argument(..., help="Playbook id.", autocompletion=complete_playbooks),
    severity: str = typer.Option(
        ..., "--severity", "-s", help="Severity: id (II), label or half of it (Major), or grade (重大)."
    ),
    title: str | None = typer.Option(None, "--title", help="Incident title (default: the playbook's)."),
    assign: list[str] = typer.Option(
        [],
        "--as",
        help="ROLE=NAME, repeatable (on the roster if drill.toml has one).",
        autocompletion=complete_playbook_roles,
    ),
    by: str | None = BY,
) -> None:
    """Open a real incident; prints the new run id alone on stdout."""
    from drillkit.services.actions import open_run

    ws = workspace()
    say(open_run(ws, default_clock(), playbook, severity=severity, by=by, title=title, assignments=assign, tell=warn))


def act(
    run: str = RUN,
    trigger: str = typer.Argument(..., help="Trigger to fire.", autocompletion=complete_triggers),
    by: str | None = BY,
    role: str | None = ROLE,
    note: str | None = NOTE,
) -> None:
    """Fire a transition."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.act(workspace(), default_clock(), run, trigger, who=who, role=role, note=note))


def check(
    run: str = RUN,
    item: str = typer.Argument(..., help="Checklist item id.", autocompletion=complete_items),
    by: str | None = BY,
    role: str | None = ROLE,
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
    role: str = typer.Argument(..., help="Role id.", autocompletion=complete_roles),
    person: str = typer.Argument(..., help="Who takes the role.", autocompletion=complete_people),
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
    run: str | None = run_argument(
        None, help="Run (id, unique prefix, last four hex digits, `last`); default: every run not ended."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    watch: bool = typer.Option(
        False, "--watch", help="Redraw as events arrive (from any process or host); Ctrl-C stops."
    ),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of the text: en or zh (--json is the same in both)."),
) -> None:
    """State, clocks, allowed triggers, open checklist items, deadlines, expectations and breaches."""
    from drillkit.render.labels import Labels
    from drillkit.render.lines import status_text
    from drillkit.services.views import statuses

    ws = workspace()
    if watch:
        _watch_status(ws, run, as_json)
        return
    found = statuses(ws, default_clock(), run, warn)
    if as_json:
        print_json(found.document())
    else:
        zone, labels = display_zone(ws), Labels(lang.value)
        texts = [status_text(doc, zone, labels) for doc in found.documents]
        say("\n\n".join(texts) if texts else labels("no_open_runs"))
    exit_with(found.exit_code)


def _watch_status(ws: Workspace, run: str | None, as_json: bool) -> None:
    """Each status as it changes: a redrawn screen on a terminal, else one after another (one
    JSON document a line with `--json`)."""
    from drillkit.render.lines import status_text
    from drillkit.services.views import watch_status

    if run is None:
        raise UsageError("--watch follows one run: name it (drill status RUN --watch)")
    zone, redraw = display_zone(ws), colour_ok()

    def show(document: dict[str, Any]) -> None:
        if as_json:
            import orjson

            sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
            sys.stdout.flush()
            return
        say(("\x1b[H\x1b[2J" if redraw else "") + status_text(document, zone) + ("" if redraw else "\n"))
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the watch; nothing is being written
        watch_status(ws, default_clock(), run, warn, show)


def runs(
    since: str | None = typer.Option(None, "--since", help="Only runs started on or after DATE (YYYY-MM-DD)."),
    playbook: str | None = typer.Option(None, "--playbook", help="Only runs of this playbook."),
    mode: RunMode | None = typer.Option(None, "--mode", help="incident, drill or simulation."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """The runs, newest first, with each one's outcome, breaches and verdict (targets and expectations met)."""
    from drillkit.render.lines import runs_table
    from drillkit.services.views import run_list, run_verdicts, runs_document

    ws = workspace()
    wanted = mode.value if mode else None
    found = run_list(ws, since=since, playbook=playbook, mode=wanted, zone=display_zone(ws), tell=warn)
    verdicts = run_verdicts(ws, [summary.id for summary in found]) if found else {}
    if as_json:
        print_json(runs_document(found, verdicts))
        return
    say(runs_table(found, display_zone(ws), verdicts) if found else "no runs")


def verify(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    names: list[str] | None = records_argument(),
    all_runs: bool = typer.Option(False, "--all", help="Verify every record in the workspace, actions included."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint kept earlier (`drill keys checkpoint`): the ledger must extend it."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 also for an unsealed run or unsealed events."),
    accept_unkeyed: list[str] = typer.Option(
        [],
        "--accept-unkeyed",
        metavar="RUN",
        help="A run (or `actions`, the actions' ledger) known to predate the workspace key: its plain"
        " SHA-256 chain is accepted (repeat for more).",
    ),
) -> None:
    """Check records' hash chains and seals, and the corrective actions' ledger (`actions`); exit 1
    naming the first bad line of each bad record (or a record chained without the workspace's key:
    unkeyed), 2 if one cannot be read.

    A record that cannot be read gets no verdict (it is no evidence of tampering) but a line on
    stderr, and the others are still verified."""
    from drillkit.render.summaries import ledger_line, verification_line
    from drillkit.services.review import verify_records
    from drillkit.store.verify import ACTIONS

    if all_runs and names:
        raise UsageError("give run ids or `actions`, or --all, not both")
    kept = _read_checkpoint(checkpoint) if checkpoint is not None else None
    checked = verify_records(workspace(), names or [], accept_unkeyed, checkpoint=kept, strict=strict)
    if as_json:
        print_json(checked.document())
    else:
        findings = checked.seals.findings if checked.seals else {}
        for verdict in checked.verdicts:
            say(verification_line(verdict, keyed=checked.keyed, seal=findings.get(verdict.run)))
        if checked.actions is not None:
            say(verification_line(checked.actions, keyed=checked.keyed))
        if checked.seals is not None and checked.seals.ledger is not None:
            say(ledger_line(checked.seals.ledger))
    if names and ACTIONS in names and checked.actions is None:
        warn("drill: no corrective actions are recorded: the actions' ledger has nothing to verify")
    for reason in checked.unreadable:
        warn(f"drill: {reason}")
    exit_with(checked.exit_code)


def _read_checkpoint(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--checkpoint {path}: {exc.strerror}; name the file `drill keys checkpoint` wrote") from None


def register(app: typer.Typer) -> None:
    app.command("open")(open_)
    for command in (act, check, note, assign, severity, abort, annotate, status, runs, verify):
        app.command()(command)
