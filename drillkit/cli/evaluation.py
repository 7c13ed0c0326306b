"""Evaluation: `observe`, `feedback` (SPEC §10)."""

import typer

from drillkit.cli.common import warn, workspace
from drillkit.model.clock import default_clock

RUN = typer.Argument(..., help="Run id of a drill (see `drill runs --mode drill`).")
BY = typer.Option(None, "--by", help="Who (default: $DRILL_USER, then the login name).")


def _confirm(events: list[dict[str, object]]) -> None:
    from drillkit.render.lines import event_line

    for event in events:
        warn(event_line(event))


def observe(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    run: str = RUN,
    objective: str = typer.Argument(..., help="Objective id of the drill's scenario."),
    rating: str = typer.Option(
        ..., "--rating", help="P, S, M or U (HSEEP: performed without/with some/with major challenges, unable)."
    ),
    strength: str | None = typer.Option(None, "--strength", help="A strength observed."),
    improve: str | None = typer.Option(None, "--improve", help="An area for improvement."),
    by: str | None = BY,
) -> None:
    """Rate one objective of a drill, as one of its evaluators; during the run or after it ends."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    done = actions.observe(
        workspace(), default_clock(), run, objective, rating, who=who, strength=strength, improve=improve
    )
    _confirm(done)


def feedback(
    run: str = RUN,
    text: str = typer.Argument(..., help="The feedback."),
    by: str | None = BY,
) -> None:
    """Record a participant's feedback on a drill (hot wash); during the run or after it ends."""
    from drillkit.services import actions
    from drillkit.services.people import acting_person

    who = acting_person(by)
    _confirm(actions.feedback(workspace(), default_clock(), run, text, who=who))


def register(app: typer.Typer) -> None:
    for command in (observe, feedback):
        app.command()(command)
