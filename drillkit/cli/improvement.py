"""Corrective actions: `action add|list|show|update|close` (SPEC §10)."""

from typing import Any

import typer

from drillkit.cli.common import print_json, say, warn, workspace
from drillkit.config.workspace import Workspace
from drillkit.model.clock import default_clock

action_app = typer.Typer(
    help="Corrective actions from drills and incidents, closed only on a passing retest.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
ACTION = typer.Argument(..., help="Action id (A-1, A-2, …; see `drill action list`).")
BY = typer.Option(None, "--by", help="Who (default: $DRILL_USER, then the login name).")


def _line(event: dict[str, Any]) -> str:
    said = {
        k: v
        for k, v in event.items()
        if k not in ("v", "seq", "ts", "event", "actor", "role", "action", "prev", "hash")
    }
    details = ", ".join(f"{key} {value}" for key, value in said.items() if value is not None)
    return f"{event['action']} {event['event']} by {event['actor']}: {details}"


@action_app.command("add")
def add(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    source: str = typer.Option(
        ..., "--from", help="RUN or RUN:OBJECTIVE the action comes from (RUN: id, unique prefix, last 4 hex digits)."
    ),
    title: str = typer.Option(..., "--title", help="What is to be done."),
    owner: str = typer.Option(..., "--owner", help="ROLE=PERSON who owns it."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
    capability: str | None = typer.Option(None, "--capability", help="The capability it improves."),
    by: str | None = BY,
) -> None:
    """Open a corrective action; prints its id alone on stdout."""
    from drillkit.services import improvement

    new = improvement.NewAction(source=source, title=title, owner=owner, due=due, capability=capability)
    ws = workspace()
    opened = improvement.add(ws, default_clock(), new, by=_person(ws, by))
    warn(_line(opened))
    say(opened["action"])


@action_app.command("list")
def list_actions(
    only_open: bool = typer.Option(False, "--open", help="Only actions not closed."),
    overdue: bool = typer.Option(False, "--overdue", help="Only actions past their due date and not closed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """The corrective actions, oldest first."""
    from drillkit.render.table import table
    from drillkit.services import improvement

    rows = improvement.listed(workspace(), default_clock(), only_open=only_open, overdue=overdue)
    if as_json:
        print_json(rows)
        return
    headers = ["action", "status", "due", "owner", "from", "title"]
    cells = [
        [
            r["action"],
            r["status"] + (" OVERDUE" if r["overdue"] else ""),
            r["due"],
            f"{r['owner_role']}={r['owner']}",
            r["from_run"] + (f":{r['objective']}" if r["objective"] else ""),
            r["title"],
        ]
        for r in rows
    ]
    say(table(headers, cells) if rows else "no actions")


@action_app.command("show")
def show(action: str = ACTION) -> None:
    """One corrective action as JSON: what, whose, by when, its notes and its retest."""
    from drillkit.services import improvement

    print_json(improvement.show(workspace(), default_clock(), action))


@action_app.command("update")
def update(
    action: str = ACTION,
    status: str = typer.Option(..., "--status", help="open or in-progress."),
    note: str | None = typer.Option(None, "--note", help="What changed."),
    by: str | None = BY,
) -> None:
    """Record progress on a corrective action."""
    from drillkit.services import improvement

    ws = workspace()
    warn(_line(improvement.update(ws, default_clock(), action, status=status, note=note, by=_person(ws, by))))


@action_app.command("close")
def close(
    action: str = ACTION,
    retest: str = typer.Option(
        ...,
        "--retest",
        help="A later drill of the same playbook where its objective scored P or S (a run name, as RUN takes).",
    ),
    by: str | None = BY,
) -> None:
    """Close a corrective action on a passing retest; refused in one line naming what is missing."""
    from drillkit.services import improvement

    ws = workspace()
    warn(_line(improvement.close(ws, default_clock(), action, retest=retest, by=_person(ws, by))))


def _person(ws: Workspace, by: str | None) -> str:
    from drillkit.services.people import acting_person, person_outside_a_run

    return person_outside_a_run(ws, acting_person(by))


def register(app: typer.Typer) -> None:
    app.add_typer(action_app, name="action")
