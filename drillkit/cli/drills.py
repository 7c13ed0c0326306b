"""Drills: `start`, `resume`, `simulate`."""

import sys
from typing import Any

import typer

from drillkit.cli.common import actor, colour_ok, print_json, printable, say, stop_on_signals, warn, workspace


def start(
    scenario: str = typer.Argument(..., help="Scenario id."),
    assign: list[str] = typer.Option([], "--as", help="ROLE=NAME, repeatable (overrides the scenario's participants)."),
    speed: float = typer.Option(
        1.0, "--speed", help="Drill clock speed: 10 runs ten times faster than the wall clock."
    ),
    detach: bool = typer.Option(False, "--detach", help="Print the run id and leave conducting to the scheduler."),
    by: str | None = typer.Option(None, "--by", help="Who starts it (default: $DRILL_USER, then the login name)."),
) -> None:
    """Start a drill and conduct it in the foreground with a live board (Ctrl-C leaves it running)."""
    from drillkit.model.clock import default_clock
    from drillkit.services.drills import start_drill

    ws, clock = workspace(), default_clock()
    ws.notifiers()  # a bad [[notify]] is refused before the run is written, not after
    run_id = start_drill(ws, scenario, clock=clock, by=actor(by), assignments=assign, speed=speed)
    if detach:
        say(run_id)
        warn(f"conducted by `drill scheduler`; or conduct it here with: drill resume {run_id}")
        return
    warn(f"drill {run_id} started")
    _conduct(run_id)


def resume(run: str = typer.Argument(..., help="Run id.")) -> None:
    """Conduct a running run in the foreground again; what came due meanwhile is recorded late, once."""
    _conduct(run)


def _conduct(run_id: str) -> None:
    from drillkit.model.clock import default_clock
    from drillkit.notify.outbox import Outbox
    from drillkit.services.conductor import Conductor

    ws, clock = workspace(), default_clock()
    outbox = Outbox(ws, clock, ws.notifiers())
    if _deliver_if_ended(ws, run_id, outbox):
        return
    screen = _Screen(colour_ok())
    conductor = Conductor(ws, clock, listener=screen.events, outbox=outbox)
    conductor.adopt_or_fail(run_id)
    stop = _stop_flag()
    try:
        conductor.conduct(stop=lambda: stop["set"], every=lambda: screen.draw(conductor, run_id, clock.now()))
    finally:
        try:
            conductor.close()  # raises what a last append in flight met, once it is finished
        finally:
            outbox.close(timeout=5.0)
    if stop["set"]:
        warn(f"left {run_id} running; conduct it again with: drill resume {run_id}")
        return
    _summary(run_id)


def _deliver_if_ended(ws: Any, run_id: str, outbox: Any) -> bool:
    """An ended run has nothing left to conduct; only notifications still owed are delivered."""
    from drillkit.engine.replay import last_event
    from drillkit.store.files import RunRecord

    events = RunRecord(ws, run_id).read()
    ended = last_event(events)
    if ended["event"] != "run.ended":
        return False
    owed = outbox.poll(run_id, events)
    outbox.close(timeout=30.0)
    warn(
        f"{run_id} has ended ({ended['outcome']}); nothing left to conduct"
        + (f", {owed} notification(s) delivered" if owed else "")
    )
    return True


def _stop_flag() -> dict[str, bool]:
    flag = {"set": False}
    stop_on_signals(lambda: flag.update(set=True))
    return flag


class _Screen:
    """The board in place on a terminal; one plain line per event otherwise (NO_COLOR, pipes)."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.shown = ""
        self.mark = ""

    def events(self, run_id: str, new: list[dict[str, Any]]) -> None:
        from drillkit.render.labels import drill_mark
        from drillkit.render.lines import event_line

        for event in new:
            if event["event"] == "run.started":
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
        text = "".join(f"{printable(line)}\x1b[K\n" for line in lines)
        if text != self.shown:
            sys.stdout.write(("\x1b[2J" if not self.shown else "") + "\x1b[H" + text + "\x1b[J")
            sys.stdout.flush()
            self.shown = text


def _summary(run_id: str) -> None:
    from drillkit.engine.metrics import all_met, run_document
    from drillkit.store.files import RunRecord

    document = run_document(RunRecord(workspace(), run_id).read(), {})
    _print_verdicts(document)
    if not all_met(document):
        raise typer.Exit(1)


def _print_verdicts(document: dict[str, Any]) -> None:
    from drillkit.engine.metrics import unallowed_breaches
    from drillkit.model.durations import format_clock, format_duration
    from drillkit.render.labels import drill_mark

    run = document["run"]
    say(f"{drill_mark(run['mode'])}{run['id']}: {run['outcome'] or 'open'} in state {run['state']}")
    for metric in document["metrics"]:
        value = format_duration(metric["value"]) if metric["value"] is not None else "not reached"
        target = format_duration(metric["target"]) if metric["target"] is not None else "none"
        say(f"  metric {metric['name']}: {value} (target {target}): {metric['verdict']}")
    for expectation in document["expectations"]:
        say(f"  inject {expectation['inject']} expects {expectation['expect']}: {expectation['verdict']}")
    unallowed = unallowed_breaches(document)
    for breach in document["breaches"]:
        say(
            f"  breach {breach['what']} due {format_clock(breach['due'])}: owner {breach['owner'] or '-'}"
            f" ({breach['assignee'] or 'unassigned'})"
            + ("" if breach["what"] in unallowed else ": allowed by the scenario")
        )


def simulate(
    scenario: str = typer.Argument(..., help="Scenario id."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run as one JSON document, as `drill export --format json` does."
    ),
) -> None:
    """Run the scenario's script on a virtual clock; exit 0 if every target and expectation is met
    and every breach is one the scenario allows."""
    from drillkit.engine.metrics import all_met, run_document, unallowed_breaches
    from drillkit.model.clock import default_clock
    from drillkit.render.runview import integrity
    from drillkit.services.simulate import simulate as run_simulation

    ws = workspace()
    result = run_simulation(ws, default_clock(), scenario)
    document = run_document(result.events, integrity(ws, result.run_id))
    for step, why in result.rejected:
        warn(f"rejected step at T+{step.at}s by {step.by}: {why}")
    if as_json:
        print_json(document)
    else:
        _print_verdicts(document)
    if result.rejected or not all_met(document) or unallowed_breaches(document):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    for command in (start, resume, simulate):
        app.command()(command)
