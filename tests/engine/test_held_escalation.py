"""An `on_deadline` move its checklist items hold back (SPEC §2, §4): owed from the state's breach
while the run stays in the state, fired by the system as soon as its items are done (right after
the check that allows it, in the same write), never once the run has left the state."""

from __future__ import annotations

from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.engine.replay import RunState, decided, due_drafts, first_due
from drillkit.model.plans import Playbook
from drillkit.plans.library import Plans
from drillkit.store.port import Event
from tests.e2e.test_held_escalation import GATED


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Playbook:
    root = tmp_path_factory.mktemp("ws")
    (root / "playbooks").mkdir()
    (root / "playbooks" / "gated.yaml").write_text(GATED, encoding="utf-8")
    return Plans(Workspace(root)).playbook("gated")


def opened(pb: Playbook) -> RunState:
    return RunState.begin(
        {
            "event": "run.started",
            "run": "20261129T080000Z-gated-0001",
            "seq": 1,
            "hash": "0" * 64,
            "ts": "2026-11-29T08:00:00.000Z",
            "t": 0.0,
            "mode": "incident",
            "playbook": pb.data(),
            "scenario": None,
            "severity": "II",
            "participants": {"lead": "alice", "noc": "bob"},
            "speed": 1.0,
            "state": "triage",
        }
    )


def check(rs: RunState, at: float) -> list[Event]:
    """What `drill check RUN bridge --by bob` writes at drill time `at`."""
    return decided(rs, lambda now: decide.check(now, "bridge", "bob", None, None), at)


def act(rs: RunState, trigger: str, at: float) -> list[Event]:
    """What `drill act RUN TRIGGER --by bob` writes at drill time `at`."""
    return decided(rs, lambda now: decide.act(now, trigger, "bob", None, None), at)


def kinds(events: list[Event]) -> list[tuple[str, Any]]:
    return [(e["event"], e.get("item") or e.get("trigger") or e.get("state")) for e in events]


def test_held_back_at_the_deadline_it_fires_right_after_the_check_that_allows_it(gated: Playbook) -> None:
    rs = opened(gated)
    assert kinds(due_drafts(rs, 420.0)) == [("deadline.breached", "triage")]
    assert (rs.state, first_due(rs)) == ("triage", None)  # nothing to wake up for while the bridge is closed
    made = check(rs, 540.0)
    assert kinds(made) == [("check.done", "bridge"), ("transition", "escalate")]
    move = made[1]
    assert (move["actor"], move["from"], move["to"], move["due"], move["late_by"]) == (
        "system",
        "triage",
        "escalated",
        540.0,
        0.0,
    )
    assert rs.state == "escalated"
    assert due_drafts(rs, 7200.0) == []  # fired once


def test_it_is_owed_only_while_the_run_stays_in_the_state(gated: Playbook) -> None:
    """Left before the bridge was opened, the first stay's escalation is dropped; the second stay
    owes nothing until its own deadline passes, and the bridge is open by then, so it fires with
    that breach."""
    rs = opened(gated)
    due_drafts(rs, 420.0)
    assert rs.escalation_owed == 300.0
    act(rs, "work", 450.0)
    assert rs.escalation_owed is None
    assert kinds(check(rs, 540.0)) == [("check.done", "bridge")]
    act(rs, "back", 600.0)
    assert due_drafts(rs, 899.0) == []
    made = due_drafts(rs, 900.0)
    assert kinds(made) == [("deadline.breached", "triage"), ("transition", "escalate")]
    assert [e["due"] for e in made] == [900.0, 900.0]


def test_catch_up_writes_the_escalation_a_check_allowed_while_nothing_watched(gated: Playbook) -> None:
    """A record whose check was written without its escalation (by an earlier version): the next
    look writes the escalation late, due when the check allowed it."""
    rs = opened(gated)
    due_drafts(rs, 420.0)
    rs.apply({**decide.check(rs, "bridge", "bob", None, None)[0], "t": 540.0})
    made = due_drafts(rs, 720.0)
    assert kinds(made) == [("transition", "escalate")]
    assert (made[0]["due"], made[0]["late_by"]) == (540.0, 180.0)


def test_what_is_owed_is_kept_by_a_snapshot(gated: Playbook) -> None:
    rs = opened(gated)
    due_drafts(rs, 420.0)
    restored = RunState.restored(rs.kept())
    assert restored is not None
    assert restored.escalation_owed == 300.0
    assert kinds(check(restored, 540.0)) == [("check.done", "bridge"), ("transition", "escalate")]
