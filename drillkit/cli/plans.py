"""Plans: `validate`, `playbooks`, `show`, `init`."""

from enum import StrEnum
from pathlib import Path

import typer

from drillkit.cli.common import display_zone, exit_with, print_json, say, warn, workspace


class ShowFormat(StrEnum):
    text = "text"
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


def validate(
    paths: list[Path] | None = typer.Argument(
        None, help="Files, or folders whose *.yaml files to check (default: the whole workspace and drill.toml)."
    ),
) -> None:
    """Check playbooks and scenarios; print every problem as FILE:LINE:COLUMN: message."""
    from drillkit.plans.library import Plans

    plans = Plans(workspace())
    problems = plans.validate(paths or [])
    for problem in problems:
        say(str(problem))
    if problems:
        warn(f"{len(problems)} problem(s) found")
        raise typer.Exit(1)
    if not paths and (nothing := plans.nothing_found()):
        warn(f"drill validate: {nothing}")
        raise typer.Exit(1)
    warn("all plans are valid")


def playbooks(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """List playbooks: id, title, kind, version, last drill, next scheduled drill; exit 1 if one is not valid."""
    from drillkit.services.catalog import playbook_rows

    ws = workspace()
    rows, invalid = playbook_rows(ws, warn)
    if as_json:
        print_json(rows)
    else:
        from drillkit.render.summaries import playbooks_table  # the table's imports only for the text form

        say(playbooks_table(rows, display_zone(ws)))
    exit_with(1 if invalid else 0)


def show(
    playbook: str = typer.Argument(..., help="Playbook id."),
    fmt: ShowFormat = typer.Option(ShowFormat.text, "--format", "-f", help="text, mermaid, dot or json."),
) -> None:
    """Show a playbook; mermaid and dot draw its states."""
    from drillkit.plans.library import Plans
    from drillkit.render import plan

    found = Plans(workspace()).playbook(playbook)
    if fmt is ShowFormat.json:
        print_json(plan.as_json(found))
        return
    renderers = {ShowFormat.text: plan.as_text, ShowFormat.mermaid: plan.as_mermaid, ShowFormat.dot: plan.as_dot}
    say(renderers[fmt](found))


def init(folder: Path = typer.Argument(..., help="Folder for the new workspace.")) -> None:
    """Create a new workspace with sample playbooks and scenarios."""
    from drillkit.services.catalog import init_workspace

    created = init_workspace(folder)
    warn(f"created workspace {folder} with {created} sample files; try: drill --workspace {folder} validate")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(playbooks)
    app.command()(show)
    app.command()(init)
