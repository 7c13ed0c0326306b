"""The entry point: start-up runs without the cyclic garbage collector, every command with it."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from drillkit.cli.main import run
from drillkit.config.workspace import Workspace


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
