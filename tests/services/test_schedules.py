"""Adding schedules (the scenario is checked here), and the next drill per playbook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import VirtualClock
from drillkit.model.errors import NotFound, UsageError
from drillkit.schedule.store import has_store, open_store
from drillkit.services.schedules import add_schedule, change_schedule, next_fires_by_playbook

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SCENARIO = "core-outage-q4"


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    return Workspace(workspace)


def _no_unreadable(line: str) -> None:
    raise AssertionError(f"no schedule here is unreadable, yet: {line}")


def _add(ws: Workspace, when: tuple[str, str] = ("cron", "0 9 * * *"), schedule_id: str | None = None) -> str:
    added = add_schedule(
        ws, VirtualClock(NOW), scenario=SCENARIO, when=when, tz="Asia/Shanghai", schedule_id=schedule_id
    )
    return added.schedule.id


def test_ids_default_to_the_scenario_and_stay_unique(ws: Workspace) -> None:
    assert _add(ws) == SCENARIO
    assert _add(ws) == f"{SCENARIO}-2"
    with pytest.raises(UsageError, match="exists already"):
        _add(ws, schedule_id=SCENARIO)
    with pytest.raises(UsageError, match="lowercase"):
        _add(ws, schedule_id="Bad Id")


def test_a_schedule_needs_a_valid_scenario_and_a_future_fire(ws: Workspace) -> None:
    clock = VirtualClock(NOW)
    with pytest.raises(NotFound, match="no scenario"):
        add_schedule(ws, clock, scenario="nope", when=("cron", "@daily"), tz="UTC")
    with pytest.raises(UsageError, match="never fires"):
        add_schedule(ws, clock, scenario=SCENARIO, when=("at", "2020-01-01T09:00"), tz="UTC")
    assert not has_store(ws)  # a refused request creates nothing


def test_changing_a_schedule_of_a_workspace_without_a_store_creates_none(ws: Workspace) -> None:
    with pytest.raises(NotFound, match=r"no schedule 'x'; schedules: \(none\)"):
        change_schedule(ws, VirtualClock(NOW), "x", "pause")
    assert not has_store(ws)


def test_next_fires_by_playbook_skips_paused_and_broken_schedules(ws: Workspace) -> None:
    clock = VirtualClock(NOW)
    _add(ws, when=("cron", "0 9 * * *"))
    _add(ws, when=("every", "3600"), schedule_id="hourly")
    assert change_schedule(ws, clock, "hourly", "pause") == "paused"
    with open_store(ws) as store:
        assert store.get("hourly").paused
    assert next_fires_by_playbook(ws, _no_unreadable, clock) == {"core-network-outage": "2026-11-30T01:00:00.000Z"}
    (ws.scenarios / f"{SCENARIO}.yaml").unlink()
    assert next_fires_by_playbook(ws, _no_unreadable, clock) == {}


def test_next_fires_by_playbook_skip_fires_a_blackout_window_will_skip(ws: Workspace) -> None:
    clock = VirtualClock(NOW)
    _add(ws, when=("cron", "0 9 * * *"))  # 09:00 in Shanghai: 2026-11-30T01:00Z is next
    toml = ws.root / "drill.toml"
    toml.write_text(
        'timezone = "Asia/Shanghai"\n[schedule]\nblackout = [{start = "2026-11-30T00:00", end = "2026-12-01T00:00"}]\n'
    )
    assert next_fires_by_playbook(ws, _no_unreadable, clock) == {"core-network-outage": "2026-12-01T01:00:00.000Z"}
    toml.write_text('[schedule]\nblackout = [{from = "00:00", to = "24:00"}]\n')  # never again
    assert next_fires_by_playbook(ws, _no_unreadable, clock) == {}
