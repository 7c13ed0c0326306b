"""The typer app: global options, the command groups, and the one error boundary."""

import gc
import os
import sys
from pathlib import Path

# drill loads no pydantic plugins; skipping their entry-point scan saves ~10 ms on every command
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from drillkit import __version__
from drillkit.cli import drills, evaluation, forecast, improvement, keys, notify, plans, review, runs, schedule, store
from drillkit.cli.common import GLOBALS, warn
from drillkit.model.errors import DrillError, InvalidFile

app = typer.Typer(
    name="drill",
    help="Incident response and emergency drills (应急预案与演练) from YAML playbooks.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"drill {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    workspace: Path | None = typer.Option(
        None, "--workspace", "-w", help="Workspace folder (default: $DRILL_WORKSPACE, else the current folder)."
    ),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone, e.g. Asia/Shanghai (records stay UTC)."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Incident response and emergency drills (应急预案与演练) from YAML playbooks."""
    GLOBALS.workspace, GLOBALS.tz, GLOBALS.debug = workspace, tz, debug
    _start_collecting()


def _start_collecting() -> None:
    """The command runs with the cyclic garbage collector, which `run` kept off for start-up (the
    scheduler runs for days). What start-up made lives until exit: frozen, no collection walks it
    again, the one at exit included. Nothing to do when drill runs in-process (tests)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


plans.register(app)
schedule.register(app)
runs.register(app)
drills.register(app)
notify.register(app)
review.register(app)
keys.register(app)
forecast.register(app)
store.register(app)
evaluation.register(app)
improvement.register(app)


def _refuse_undecodable(args: list[str]) -> None:
    """Arguments must be UTF-8 text: bytes that are not arrive as surrogates, and nothing may run on them."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            warn(f"drill: argument {position} is not valid UTF-8 text; pass names, notes and ids as UTF-8")
            sys.exit(2)


def run() -> None:
    """Entry point: errors are shown once, on one line, with the SPEC §5 exit code.

    Start-up imports typer, pydantic and drillkit: many objects, no garbage. Collecting cycles
    meanwhile only walks them again and again (some 25 ms of every command, exit included), so
    the collector waits for the command (`_start_collecting`)."""
    gc.disable()
    _refuse_undecodable(sys.argv[1:])
    try:
        code = app(standalone_mode=False)  # typer's own refusals come here, to be said in one line
    except typer.TyperException as refused:
        warn(_refusal(refused))
        sys.exit(refused.exit_code)
    except InvalidFile as bad:
        if GLOBALS.debug:
            raise
        for problem in bad.problems:
            warn(str(problem))
        sys.exit(2)
    except DrillError as err:
        if GLOBALS.debug:
            raise
        warn(f"drill: {err}")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        warn("drill: interrupted")
        sys.exit(130)
    except typer.Abort:  # what click makes of an end of input at a prompt
        warn("drill: aborted")
        sys.exit(1)
    except Exception as exc:  # the one boundary: a bug is reported in one line, not a traceback
        if GLOBALS.debug:
            raise
        warn(f"drill: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _refusal(refused: typer.TyperException) -> str:
    """A usage error as `drill act: missing argument 'run' (see drill act --help)`: the command, what
    is wrong and where the allowed forms are, in place of click's usage block. `drill` or a command
    group given alone is answered with its help, as typer does (its class is matched by name, as
    typer itself does: the module that defines it is private)."""
    context = getattr(refused, "ctx", None)
    if type(refused).__name__ == "NoArgsIsHelpError" and context is not None:
        return str(context.get_help())
    command = context.command_path if context is not None else "drill"
    said = refused.format_message().replace("Value error, ", "")  # pydantic's prefix, since typer 0.29
    message = " ".join(said.split()).rstrip(".")
    return f"{command}: {message[:1].lower()}{message[1:]} (see {command} --help)"
