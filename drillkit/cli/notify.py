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
def send_test(
    name: str = typer.Argument(..., help="Notifier name from drill.toml."),
    retries: int = typer.Option(0, "--retries", min=0, max=19, help="Attempts after the first, if it fails."),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0.1, max=300, help="Seconds per attempt (default: the notifier's, at most 3)."
    ),
) -> None:
    """Send a clearly marked test message ([TEST / 测试]) through one notifier now: one attempt
    with a short timeout unless asked for more."""
    from drillkit.notify.senders import describe_outcome, send_probe

    outcome = send_probe(workspace(), default_clock(), name, retries=retries, timeout=timeout)
    warn(f"notifier {name}: test message {describe_outcome(outcome)}")
    if not outcome.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app)
