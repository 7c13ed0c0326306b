"""Notifications: `drill notify test NAME`."""

import typer

from drillkit.cli.common import warn, workspace
from drillkit.model.clock import default_clock

notify_app = typer.Typer(
    name="notify",
    help="Notifiers configured in drill.toml ([[notify]]).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@notify_app.command("test")
def send_test(name: str = typer.Argument(..., help="Notifier name from drill.toml.")) -> None:
    """Send a clearly marked test message ([TEST / 测试]) through one notifier now."""
    from drillkit.notify.senders import describe_outcome, send_probe

    outcome = send_probe(workspace(), default_clock(), name)
    warn(f"notifier {name}: test message {describe_outcome(outcome)}")
    if not outcome.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app)
