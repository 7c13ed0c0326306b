"""TAB completion: each function is given to typer as a parameter's `autocompletion` and answers
from the workspace named on the command line so far (`services.completion`). A completion is
quiet: whatever goes wrong offers nothing, never a message in the middle of the user's line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from drillkit.config.workspace import Workspace


def _quietly(offer: Callable[[Workspace], list[str]], ctx: typer.Context) -> list[str]:
    try:
        root = ctx.find_root().params.get("workspace")
        return offer(Workspace.find(Path(root) if root else None))
    except Exception:  # a TAB press must never show an error or a traceback
        return []


def _first(ctx: typer.Context, name: str) -> str:
    """The command's first argument as typed so far (a run as typed: a prefix, four hex digits or
    `last` are resolved later). While an option's value is completed, click stops parsing at that
    option and leaves the arguments before it unparsed, in `ctx.args`."""
    return str(ctx.params.get(name) or (ctx.args[0] if ctx.args else ""))


def _run(ctx: typer.Context) -> str:
    return _first(ctx, "run")


def complete_runs(ctx: typer.Context, incomplete: str) -> list[str]:
    from drillkit.services.completion import run_names

    return _quietly(lambda ws: run_names(ws, incomplete), ctx)


def complete_records(ctx: typer.Context, incomplete: str) -> list[str]:
    """`drill verify`: the runs, and `actions` (the corrective actions' ledger)."""
    from drillkit.store.verify import ACTIONS

    return complete_runs(ctx, incomplete) + ([ACTIONS] if ACTIONS.startswith(incomplete) else [])


def complete_triggers(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import triggers_now

    return _quietly(lambda ws: triggers_now(ws, _run(ctx)), ctx)


def complete_items(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import open_items

    return _quietly(lambda ws: open_items(ws, _run(ctx)), ctx)


def complete_roles(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import run_roles

    return _quietly(lambda ws: run_roles(ws, _run(ctx)), ctx)


def complete_people(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import run_people

    return _quietly(lambda ws: run_people(ws, _run(ctx)), ctx)


def complete_playbooks(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import plan_ids

    return _quietly(lambda ws: plan_ids(ws, scenario=False), ctx)


def complete_scenarios(ctx: typer.Context) -> list[str]:
    from drillkit.services.completion import plan_ids

    return _quietly(lambda ws: plan_ids(ws, scenario=True), ctx)


def complete_playbook_roles(ctx: typer.Context) -> list[str]:
    """`--as ROLE=` for `drill open PLAYBOOK`."""
    from drillkit.services.completion import plan_roles

    return _quietly(lambda ws: plan_roles(ws, _first(ctx, "playbook"), scenario=False), ctx)


def complete_scenario_roles(ctx: typer.Context) -> list[str]:
    """`--as ROLE=` for `drill start SCENARIO`."""
    from drillkit.services.completion import plan_roles

    return _quietly(lambda ws: plan_roles(ws, _first(ctx, "scenario"), scenario=True), ctx)
