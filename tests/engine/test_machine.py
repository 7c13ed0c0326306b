"""The playbook's state machine: built once per process for equal playbooks, never shared by different ones."""

from __future__ import annotations

from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.engine.machine import Attempt, PlanMachine
from drillkit.model.plans import Playbook
from drillkit.plans.library import Plans


def test_a_changed_playbook_decides_by_its_own_guards_not_a_cached_machine(workspace: Path) -> None:
    pb = Plans(Workspace(workspace)).playbook("core-network-outage")
    guarded = next(t for t in pb.transitions if t.roles and not t.requires)
    opened = pb._replace(transitions=[t._replace(roles=None) if t is guarded else t for t in pb.transitions])
    copy = Playbook.from_data(pb.data())  # an equal playbook, as each run's record carries one
    state = guarded.source[0]

    assert PlanMachine(copy).fire(state, guarded.trigger, Attempt(role="nobody", done=set())) is None
    assert PlanMachine(opened).fire(state, guarded.trigger, Attempt(role="nobody", done=set())) == guarded.to
