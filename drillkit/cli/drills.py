"""Drills: `start`, `resume`, `simulate`, `replay`."""

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from drillkit.cli.common import (
    colour_ok,
    emit,
    exit_with,
    print_json,
    printable,
    run_argument,
    say,
    stop_on_signals,
    warn,
    workspace,
)
from drillkit.cli.completion import complete_scenario_roles, complete_scenarios
from drillkit.cli.output import force_option, output_option
from drillkit.model.clock import default_clock


def start(
    scenario: str = typer.Argument(..., help="Scenario id.", autocompletion=complete_scenarios),
    assign: list[str] = typer.Option(
        [],
        "--as",
        help="ROLE=NAME, repeatable (overrides the scenario's participants; on the roster if drill.toml has one).",
        autocompletion=complete_scenario_roles,
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="Drill clock speed, 0.01 to 10000: 10 runs ten times faster than the wall clock."
    ),
    detach: bool = typer.Option(False, "--detach", help="Print the run id and leave conducting to the scheduler."),
    by: str | None = typer.Option(
        None,
        "--by",
        help="Who starts it: one of its people (--as, the scenario's) or on drill.toml's [people] roster "
        "(default: $DRILL_USER, then the login name, if they may).",
    ),
) -> None:
    """Start a drill and conduct it in the foreground with a live board (Ctrl-C leaves it running)."""
    from drillkit.services.conducting import begin_drill

    run_id = begin_drill(workspace(), default_clock(), scenario, by=by, assignments=assign, speed=speed)
    if detach:
        say(run_id)
        warn(f"conducted by `drill scheduler`; or conduct it here with: drill resume {run_id}")
        return
    warn(f"drill {run_id} started")
    _conduct(run_id)


def resume(run: str = run_argument()) -> None:
    """Conduct a running run in the foreground again; what came due meanwhile is recorded late, once."""
    _conduct(run)


def _conduct(run_id: str) -> None:
    from drillkit.render.summaries import verdict_lines
    from drillkit.services.conducting import Conducted, conduct, judge

    ws, clock, screen = workspace(), default_clock(), _Screen(colour_ok())

    def every(conductor: Any) -> None:
        screen.draw(conductor, run_id, clock.now())

    outcome = conduct(ws, clock, run_id, listener=screen.events, every=every, watch=_stop_flag, tell=warn)
    if outcome is Conducted.LEFT_RUNNING:
        warn(f"left {run_id} running; conduct it again with: drill resume {run_id}")
    if outcome is not Conducted.ENDED:
        return
    judged = judge(ws, run_id)
    say(verdict_lines(judged.document))
    exit_with(judged.exit_code)


def _stop_flag() -> Callable[[], bool]:
    """Ctrl-C and SIGTERM from now on ask the conductor to stop at its next look."""
    flag = {"set": False}
    stop_on_signals(lambda: flag.update(set=True))
    return lambda: flag["set"]


class _Screen:
    """The board in place on a terminal, in colour, each line cut to the terminal's width; one
    plain line per event otherwise (NO_COLOR, pipes, files: SPEC §5's plain text)."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.shown = ""
        self.mark = ""

    def events(self, run_id: str, new: list[dict[str, Any]]) -> None:
        from drillkit.model.events import EventType  # ~1.5 ms: --help and TAB completion go without
        from drillkit.render.labels import drill_mark
        from drillkit.render.lines import event_line

        for event in new:
            if event["event"] == EventType.RUN_STARTED:
                self.mark = drill_mark(event["mode"])
            if not self.live:
                say(self.mark + event_line(event))
        sys.stdout.flush()

    def draw(self, conductor: Any, run_id: str, now: Any) -> None:
        """Redraw in place when something changed: home, each line cleared to its end, the rest cleared."""
        if not self.live or conductor.state(run_id) is None:
            return
        from drillkit.render.board import board_lines

        lines = board_lines(conductor.state(run_id), conductor.events(run_id), now)
        text = _fitted(lines, shutil.get_terminal_size())
        if text != self.shown:
            sys.stdout.write(("\x1b[2J" if not self.shown else "") + "\x1b[H" + text + "\x1b[J")
            sys.stdout.flush()
            self.shown = text


def _fitted(lines: list[Any], size: os.terminal_size) -> str:
    """The board's lines, styled, for a terminal of `size`: each cut with an ellipsis rather than
    wrapped, and the board cut to the terminal's height with a line saying so (a wrapped line, or
    one past the last row, scrolls the screen and pushes the board off its place at every redraw)."""
    import io

    from rich.console import Console
    from rich.text import Text

    from drillkit.render.board import BoardLine

    rows = max(2, size.lines - 1)  # the cursor rests on the row below the board
    if len(lines) > rows:
        left_out = len(lines) - rows + 1
        lines = [*lines[: rows - 1], BoardLine(f"… {left_out} more line(s): a taller terminal shows them", "dim")]
    out = io.StringIO()
    console = Console(file=out, width=size.columns, force_terminal=True, color_system="standard")
    for line in lines:
        console.print(Text(printable(line.text), style=line.style), overflow="ellipsis", no_wrap=True, crop=True)
    return "".join(f"{row}\x1b[K\n" for row in out.getvalue().splitlines())


def simulate(
    scenario: str = typer.Argument(..., help="Scenario id.", autocompletion=complete_scenarios),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run as one JSON document, as `drill export --format json` does."
    ),
) -> None:
    """Run the scenario's script on a virtual clock; exit 0 if every target and expectation is met."""
    from drillkit.render.summaries import verdict_lines
    from drillkit.services.conducting import simulated

    judged = simulated(workspace(), default_clock(), scenario)
    for why in judged.rejected:
        warn(why)
    if as_json:
        print_json(judged.document)
    else:
        say(verdict_lines(judged.document))
    exit_with(judged.exit_code)


def replay(
    run: str = run_argument(),
    output: Path | None = output_option(),
    scenario_id: str | None = typer.Option(None, "--id", help="Scenario id (default: the name of -o FILE)."),
    title: str | None = typer.Option(None, "--title", help="Scenario title (default: Replay: and the incident's)."),
    force: bool = force_option(),
) -> None:
    """Make a drill scenario of an ended incident: what was learned as injects, what was done as script."""
    from drillkit.services.replay import replay as build

    ws = workspace()
    made = build(ws, run, output=output, scenario_id=scenario_id, title=title)
    for warning in made.warnings:
        warn(f"drill: warning: {warning}")
    emit(made.text, output, force=force)
    if output is not None:
        warn(_next_step(ws.scenarios / f"{made.scenario}.yaml", output, made.scenario))


def _next_step(wanted: Path, output: Path, scenario: str) -> str:
    """`drill simulate ID` reads the workspace's `scenarios/ID.yaml` only: elsewhere, the file must move there first."""
    if output.parent.resolve() / output.name == wanted.resolve():
        return f"try it with: drill simulate {scenario}"
    return f"drill simulate {scenario} reads {wanted}: move the file there to try it"


def register(app: typer.Typer) -> None:
    for command in (start, resume, simulate, replay):
        app.command()(command)
