"""The entry point: start-up runs without the cyclic garbage collector, every command with it."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from drillkit.cli.main import COMMANDS, MODULES, app_for, build_app, run
from drillkit.config.workspace import Workspace
from tests.conftest import DRILL, Drill, imported_by


def test_a_command_runs_with_the_garbage_collector_on(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scheduler and conductors run for days: `run` may keep the collector off for start-up only."""
    seen: list[tuple[bool, bool]] = []
    find = Workspace.find.__func__  # type: ignore[attr-defined]

    def watched(cls: type[Workspace], option: Path | None) -> Workspace:
        seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
        return find(cls, option)  # type: ignore[no-any-return]

    monkeypatch.setattr(Workspace, "find", classmethod(watched))
    monkeypatch.setattr(sys, "argv", ["drill", "--workspace", str(workspace), "runs", "--json"])
    try:
        with pytest.raises(SystemExit) as done:
            run()
    finally:
        gc.unfreeze()
        gc.enable()
    assert done.value.code == 0, capsys.readouterr().err
    assert seen == [(True, True)]


@pytest.mark.parametrize("module", MODULES)
def test_each_command_word_names_the_module_that_registers_it(module: str) -> None:
    """`drill WORD …` builds one module's commands: the table must say where every command is."""
    assert _built(build_app((module,))) == {word for word, owner in COMMANDS.items() if owner == module}


def test_the_whole_app_has_every_command_of_the_table() -> None:
    assert _built(build_app()) == set(COMMANDS)


def _built(app: typer.Typer) -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "commands"),
    [
        (["act", "RUN", "ack"], {"act"}),
        (["-w", "act", "status"], {"status"}),  # a workspace folder named like a command
        (["--workspace=ws", "--tz", "Asia/Shanghai", "--debug", "keys", "seal"], {"keys"}),
        (["-wws", "forecast", "core"], {"forecast"}),
        (["schedule", "list"], {"schedule", "scheduler"}),  # a group: its module, whole
        (["--help"], set(COMMANDS)),
        ([], set(COMMANDS)),
        (["ack"], set(COMMANDS)),  # no such command: the refusal lists them all
    ],
)
def test_a_command_line_builds_the_command_its_word_names(args: list[str], commands: set[str]) -> None:
    assert _built(app_for(args)) == commands


def test_tab_completion_builds_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_DRILL_COMPLETE", "complete_bash")
    assert _built(app_for(["act"])) == set(COMMANDS)


def test_a_command_on_a_drill_reads_its_scenario_without_the_validated_models(drill: Drill) -> None:
    """The record's copy of a drill's scenario is read as plain values, as its playbook is: the
    validated models (pydantic) would double the start-up of every command a drill's people type."""
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True).stdout.strip()
    assert "pydantic" not in imported_by(drill, "act", run, "acknowledge", "--by", "bob")
    assert drill.events(run)[-1]["trigger"] == "acknowledge"


def test_the_drill_script_imports_typer_and_drill_without_collecting() -> None:
    """The console script turns the collector off before its first import of typer or drill:
    `drill --version`, which ends before any command runs, sets off no collection at all."""
    probe = (
        "import gc, sys\n"
        f"script = compile(open({str(DRILL)!r}).read(), 'drill', 'exec')\n"
        "seen = []\n"
        "gc.callbacks.append(lambda phase, info: seen.append(phase))\n"
        "sys.argv = ['drill', '--version']\n"
        "try:\n"
        "    exec(script, {'__name__': '__main__'})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('collections:', seen.count('stop'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "collections: 0", done.stdout
