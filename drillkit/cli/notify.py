"""Notifications: `drill notify test NAME`."""

from __future__ import annotations

import typer

from drillkit.cli.common import warn, workspace

notify_app = typer.Typer(
    name="notify",
    help="Notifiers configured in drill.toml ([[notify]]).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@notify_app.command("test")
def send_test(name: str = typer.Argument(..., help="Notifier name from drill.toml.")) -> None:
    """Send a clearly marked test message ([TEST / 测试]) through one notifier now."""
    from drillkit.clock import default_clock
    from drillkit.notify import send_probe

    outcome = send_probe(workspace(), default_clock(), name)
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    if outcome.ok:
        warn(f"notifier {name}: test message sent ({tries})")
        return
    warn(f"notifier {name}: test message failed after {tries}: {outcome.error}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app)
