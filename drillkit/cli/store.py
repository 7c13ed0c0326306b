"""The team store: `store init|status|push|pull` (SPEC §8, docs/team.md)."""

from pathlib import Path

import typer

from drillkit.cli.common import print_json, say, workspace

store_app = typer.Typer(
    help="The team store: run records in a PostgreSQL database shared by a team (docs/team.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@store_app.command("init")
def init() -> None:
    """Create or upgrade the team store's schema (idempotent); run it as the database's owner."""
    from drillkit.services.teamstore import init_store

    say(init_store(workspace()))


@store_app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """The server, the schema version and the counts of runs, lines, seals and corrective actions' lines."""
    from drillkit.services.teamstore import store_status

    found = store_status(workspace())
    if as_json:
        print_json(found.as_json())
        return
    schema = (
        f"{found.schema_version} (latest {found.latest_version})"
        if found.schema_version
        else "none (run `drill store init`)"
    )
    say(
        f"server    {found.server}\ndatabase  {found.database} as {found.user}"
        f" ({'read and append' if found.writable else 'read only'})\n"
        f"schema    {schema}\nruns      {found.runs}\nlines     {found.lines}\nseals     {found.seals}"
        f"\nactions   {found.action_lines} lines"
    )
    lease = found.scheduler
    if lease is None:
        return
    who = f"{lease['host']} (pid {lease['pid']}, epoch {lease['epoch']})"
    if lease["active"]:
        say(f"scheduler {who} active since {lease['since']}, lease renewed {lease['renewed']}")
    else:
        say(f"scheduler none active; the last was {who}, its lease last renewed {lease['renewed']}")


@store_app.command("push")
def push(
    runs: list[str] = typer.Argument(None, help="Run ids (or --all)."),
    every: bool = typer.Option(False, "--all", help="Every record in logs/runs, and logs/actions.jsonl."),
) -> None:
    """Copy local records into the team store, each verified first (idempotent; a different
    record under the same id is refused, exit 1). With --all, the corrective actions' ledger too."""
    from drillkit.services.teamstore import push_actions, push_runs

    ws = workspace()
    for pushed in push_runs(ws, runs or [], every):
        say(f"{pushed.run}: {_pushed(pushed.added)}")
    added = push_actions(ws) if every else None
    if added is not None:
        say(f"logs/actions.jsonl: {_pushed(added)}")


def _pushed(added: int) -> str:
    return f"{added} lines pushed" if added else "already in the team store"


@store_app.command("pull")
def pull(
    runs: list[str] = typer.Argument(None, help="Run ids (or --all)."),
    every: bool = typer.Option(False, "--all", help="Every record in the team store."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Folder to write <run>.jsonl files into (never inside logs/)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace <run>.jsonl files already in the folder."),
) -> None:
    """Write records from the team store as JSON-lines files, byte for byte as recorded."""
    from drillkit.cli.output import write_into_folder
    from drillkit.services.teamstore import pull_records

    ws = workspace()
    for path in write_into_folder(ws, output, pull_records(ws, runs or [], every), force=force):
        say(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
