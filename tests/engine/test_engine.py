"""The engine's answer to "what comes due next" is kept on a state between events; it must
always be what a fresh replay of the same events says."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.engine.replay import RunState, first_due
from drillkit.model.clock import SystemClock
from drillkit.services.simulate import simulate
from tests.conftest import Drill


def test_what_comes_due_next_follows_every_event_as_a_fresh_replay_does(drill: Drill) -> None:
    ws = Workspace(drill.root)
    for scenario in ("core-outage-q4", "data-leak-late-ack", "dns-outage-late-ack"):
        events = simulate(ws, SystemClock(), scenario).events
        kept = RunState.begin(events[0])
        answers = [first_due(kept)]
        for n, event in enumerate(events[1:], start=2):
            kept.apply(event)
            assert first_due(kept) == first_due(RunState.replay(events[:n])), (scenario, event["event"])
            answers.append(first_due(kept))
        assert len(set(answers)) > 3, scenario  # the runs move through injects, states and metrics
        assert answers[-1] is None  # an ended run has nothing due
