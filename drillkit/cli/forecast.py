"""`drill forecast` (SPEC §11): a plan's odds of meeting its targets, from the workspace's history."""

import typer

from drillkit.cli.common import display_zone, print_json, say, workspace
from drillkit.cli.review import Lang


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
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Forecast, by Monte Carlo from past runs, each metric's chance of meeting its target."""
    from drillkit.render.forecast import render
    from drillkit.services.forecast import Question
    from drillkit.services.forecast import forecast as build

    ws = workspace()
    question = Question(
        playbook=playbook,
        severity=severity,
        runs=runs,
        seed=seed,
        since=since,
        include_drills=include_drills,
        what_if=tuple(what_if),
    )
    document = build(ws, question, display_zone(ws))
    if as_json:
        print_json(document)
    else:
        say(render(document, lang.value))


def register(app: typer.Typer) -> None:
    app.command()(forecast)
