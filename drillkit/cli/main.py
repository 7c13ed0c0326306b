"""The typer app: global options, the command groups, and the one error boundary."""

import gc
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

# drill loads no pydantic plugins; skipping their entry-point scan saves ~10 ms on every command
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
import typer.main
from typer.models import CommandInfo

from drillkit import __version__
from drillkit.cli.common import GLOBALS, warn
from drillkit.model.errors import DrillError, DrillWarning, InvalidFile

# The command modules in the order `drill --help` lists their commands, and the module of each
# command word: `drill act …` imports runs.py alone and builds its `act` alone, not all 48
# commands (typer reads every command's signature as it builds it: some 10 ms of each start).
# A test holds the table to what each module registers.
MODULES = (
    "plans", "schedule", "runs", "drills", "notify", "review", "keys", "forecast", "store", "evaluation", "improvement"
)  # fmt: skip
COMMANDS = {
    **dict.fromkeys(("validate", "playbooks", "show", "init"), "plans"),
    **dict.fromkeys(("schedule", "scheduler"), "schedule"),
    **dict.fromkeys(
        ("open", "act", "check", "note", "assign", "severity", "abort", "annotate", "status", "runs", "verify"), "runs"
    ),
    **dict.fromkeys(("start", "resume", "simulate", "replay"), "drills"),
    "notify": "notify",
    **dict.fromkeys(("timeline", "export", "report", "coverage"), "review"),
    "keys": "keys",
    "forecast": "forecast",
    "store": "store",
    **dict.fromkeys(("observe", "feedback"), "evaluation"),
    "action": "improvement",
}
_TAKES_VALUE = ("-w", "--workspace", "--tz")  # the global options followed by a value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"drill {__version__}")
        raise typer.Exit()


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


def build_app(modules: Sequence[str] = MODULES) -> typer.Typer:
    """The app with the commands of `modules` (all of them by default)."""
    app = typer.Typer(
        name="drill",
        help="Incident response and emergency drills (应急预案与演练) from YAML playbooks.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(main)
    for name in modules:
        importlib.import_module(f"drillkit.cli.{name}").register(app)
    return app


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app a command line needs: the one command its word names, else every command (for
    help, TAB completion, whose words come from the environment, and a word that is no command,
    whose refusal lists them all)."""
    word = None if "_DRILL_COMPLETE" in os.environ else _command_word(args)
    if word not in COMMANDS:
        return build_app()
    app = build_app((COMMANDS[word],))
    named = [info for info in app.registered_commands if _name(info) == word]
    if named:  # a command, not a group: its module's other commands are left unbuilt too
        app.registered_commands = named
    return app


def _name(info: CommandInfo) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__ if info.callback else "")


def _command_word(args: Sequence[str]) -> str | None:
    """The first argument that is neither a global option nor an option's value."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _TAKES_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    """`app`: the whole app, built on first use (tests and tools that import it)."""
    if name == "app":
        app = globals()["app"] = build_app()
        return app
    raise AttributeError(name)


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
    _say_warnings_once()
    try:
        code = app_for(sys.argv[1:])(standalone_mode=False)  # typer's refusals come here
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


def _say_warnings_once() -> None:
    """A `DrillWarning` raised below (the store leaving a run unsealed, say) is one line on stderr,
    `drill: warning: …`, the first time its text comes up in this process; the command goes on.
    Python's own warnings are shown as Python shows them."""
    python_shows = warnings.showwarning

    def show(  # noqa: PLR0917  # the signature of warnings.showwarning, which Python calls
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, DrillWarning):
            warn(f"drill: warning: {message}")
        else:
            python_shows(message, category, filename, lineno, file, line)

    warnings.simplefilter("once", DrillWarning)
    warnings.showwarning = show


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
