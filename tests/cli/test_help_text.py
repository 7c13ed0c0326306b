"""Help text speaks of the product, never of documents a user does not have."""

from __future__ import annotations

from typing import Any

import typer

from drillkit.cli.main import app


def _every_help(command: Any, parent: Any = None) -> dict[str, str]:
    """Every command's `--help`, keyed by its path (typer's own click types, hence `Any`)."""
    context = command.context_class(command, info_name=command.name, parent=parent)
    helps = {context.command_path: command.get_help(context)}
    if hasattr(command, "list_commands"):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None:
                helps |= _every_help(sub, context)
    return helps


def test_no_help_text_mentions_the_spec() -> None:
    helps = _every_help(typer.main.get_command(app))
    assert len(helps) > 20
    mentions = [path for path, text in helps.items() if "SPEC" in text or "§" in text]
    assert mentions == []
