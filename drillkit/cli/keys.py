"""Seals: `drill keys init`, `show`, `seal`, `checkpoint` (SPEC §9)."""

from pathlib import Path

import typer

from drillkit.cli.common import emit, print_json, say, warn, workspace
from drillkit.cli.output import force_option, output_option
from drillkit.model.clock import default_clock

keys_app = typer.Typer(
    name="keys",
    help="The workspace's seal key: signed seals of runs, the ledger and its checkpoints.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _say_key(document: dict[str, object]) -> None:
    say(f"public key:  {document['public_key']}")
    say(f"fingerprint: {document['fingerprint']}")
    private = "here" if document["private_key_here"] else "not here (this workspace verifies, it does not seal)"
    if document["private_key_problem"]:
        private = f"here, but it cannot seal: {document['private_key_problem']}"
    elif document["private_key_warning"]:
        private = f"here, but {document['private_key_warning']}"
    say(f"private key: {document['key_file']}: {private}")
    say(f"ledger:      {document['ledger_size']} seal(s)")


@keys_app.command("init")
def init(
    origin: str | None = typer.Option(None, "--origin", help="The name seals are signed with (default: the folder's)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Create the Ed25519 seal key (0600) and put its public key in drill.toml."""
    from drillkit.services.seals import init_key

    info = init_key(workspace(), origin).document()
    if as_json:
        print_json(info)
        return
    _say_key(info)
    warn("keep a copy of the public key and of `drill keys checkpoint` outside this machine")


@keys_app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Print the seal public key, its fingerprint, and whether the private key is here."""
    from drillkit.services.seals import show_key

    info = show_key(workspace()).document()
    if as_json:
        print_json(info)
    else:
        _say_key(info)


@keys_app.command("seal")
def seal(
    runs: list[str] | None = typer.Argument(None, help="Run ids (default: every run)."),
    all_runs: bool = typer.Option(False, "--all", help="Seal every run that has events past its latest seal."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Seal runs whose records have unsealed events (needs the private key)."""
    from drillkit.model.errors import UsageError
    from drillkit.services.seals import seal_runs

    if all_runs and runs:
        raise UsageError("give run ids or --all, not both")
    sealed = seal_runs(workspace(), default_clock(), runs or [])
    if as_json:
        print_json([{"run": run, "seal": fingerprint} for run, fingerprint in sealed])
        return
    for run, fingerprint in sealed:
        said = f"sealed, seal {fingerprint}" if fingerprint else "not sealed (nothing new, or see drill verify)"
        say(f"{run}: {said}")


@keys_app.command("checkpoint")
def checkpoint(output: Path | None = output_option(), force: bool = force_option()) -> None:
    """Write the ledger's latest signed checkpoint, to keep outside the machine (`drill verify --checkpoint`)."""
    from drillkit.services.seals import checkpoint as latest

    emit(latest(workspace()).decode(), output, force=force)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app)
