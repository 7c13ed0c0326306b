"""`drill forecast` (SPEC §11): a plan's odds of meeting its targets, from the workspace's history."""

from enum import StrEnum
from pathlib import Path

import typer

from drillkit.cli.common import Lang, display_zone, emit, warn, workspace
from drillkit.cli.output import force_option, output_option
from drillkit.model.errors import UsageError


class ForecastFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


def forecast(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    playbook: str = typer.Argument(..., help="Playbook id."),
    severity: str = typer.Option(..., "--severity", help="The severity to forecast, e.g. II or 重大."),
    runs: int = typer.Option(100_000, "--runs", help="Simulated runs (at least 1)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same answer."),
    since: str | None = typer.Option(None, "--since", help="Only past runs started on or after DATE."),
    include_drills: bool = typer.Option(False, "--include-drills", help="Learn from drills and simulations too."),
    what_if: list[str] = typer.Option(
        [], "--what-if", help="deadline.STATE=20m or target.METRIC=30m, beside the plan."
    ),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout (as --format json)."),
    fmt: ForecastFormat = typer.Option(
        ForecastFormat.text,
        "--format",
        "-f",
        help="text (tables), json, or html (a page with a chart of each metric's spread against its target).",
    ),
    output: Path | None = output_option(),
    force: bool = force_option(),
) -> None:
    """Forecast, by Monte Carlo from past runs, each metric's chance of meeting its target."""
    from drillkit.cli.common import json_text, printable
    from drillkit.render.forecast import render, render_html
    from drillkit.services.forecast import Question
    from drillkit.services.forecast import forecast as build

    if as_json and fmt not in {ForecastFormat.text, ForecastFormat.json}:
        raise UsageError(f"--json and --format {fmt.value}: give one of them")
    if as_json:
        fmt = ForecastFormat.json
    ws = workspace()
    question = Question(
        playbook=playbook,
        severity=severity,
        runs=runs,
        seed=seed,
        since=since,
        include_drills=include_drills,
        what_if=tuple(what_if),
        distributions=fmt is ForecastFormat.html,
    )
    document = build(ws, question, display_zone(ws), warn)
    if fmt is ForecastFormat.json:
        text = json_text(document)
    elif fmt is ForecastFormat.html:
        text = render_html(document, lang.value)
    else:
        text = printable(render(document, lang.value)) + "\n"
    emit(text, output, force=force)


def register(app: typer.Typer) -> None:
    app.command()(forecast)
