"""The playbook as a `transitions` state machine: the only module that imports `transitions`.

One Machine per playbook, built once: `auto_transitions=False` (no N² `to_<state>` triggers),
plain (unlocked) Machine, no Timeout states (they start threads and ignore our clock). Guards are
callables built here, never strings from YAML: `transitions` resolves strings as dotted import
paths, so a playbook naming `os.system` would run it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from functools import lru_cache
from typing import Any

import orjson
from transitions import Machine, MachineError

from drillkit.model.plans import Playbook, Transition


class Attempt:
    """What a guard needs to know, and the reasons it refused. (A plain class: a dataclass costs
    every command start-up time to make.)"""

    def __init__(self, role: str | None, done: Collection[str], system: bool = False) -> None:
        self.role, self.done, self.system = role, done, system
        self.refusals: list[str] = []


class _Cursor:
    """A throwaway model object placed in one state for one decision."""

    state: str


def _roles_guard(tr: Transition) -> Callable[[Any], bool]:
    def roles_allowed(event: Any) -> bool:
        attempt: Attempt = event.kwargs["attempt"]
        if attempt.system or tr.roles is None or attempt.role in tr.roles:
            return True
        attempt.refusals.append(
            f"role {attempt.role or '(none)'} may not fire {tr.trigger!r}; allowed roles: {', '.join(tr.roles)}"
        )
        return False

    return roles_allowed


def _requires_guard(tr: Transition) -> Callable[[Any], bool]:
    def requirements_done(event: Any) -> bool:
        attempt: Attempt = event.kwargs["attempt"]
        missing = [item for item in tr.requires if item not in attempt.done]
        if missing:
            attempt.refusals.append(f"{tr.trigger!r} requires checklist item(s) not done yet: {', '.join(missing)}")
        return not missing

    return requirements_done


def _build(pb: Playbook) -> Machine:
    machine = Machine(
        model=None,
        states=list(pb.states),
        initial=pb.initial_state,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for tr in pb.transitions:
        machine.add_transition(
            tr.trigger, list[Any](tr.source), tr.to, conditions=[_roles_guard(tr), _requires_guard(tr)]
        )
    return machine


_FIRING = threading.Lock()


def _machine_of(pb: Playbook) -> Machine:
    """The machine of a playbook, built once for equal playbooks: every run carries its own
    copy, and a report replays a thousand runs of a handful of playbooks. Equal playbooks have
    equal guards, and a decision leaves no trace on the machine."""
    return _machine_of_json(orjson.dumps(pb.data()))


@lru_cache(maxsize=256)
def _machine_of_json(playbook: bytes) -> Machine:
    """A pure function of the playbook's JSON."""
    return _build(Playbook.from_data(orjson.loads(playbook)))


class PlanMachine:
    """Answers: which triggers leave a state, and where does a trigger go from it."""

    def __init__(self, pb: Playbook) -> None:
        self.playbook = pb
        self._machine = _machine_of(pb)

    def triggers_from(self, state: str) -> list[str]:
        return list(self._machine.get_triggers(state))

    def transition(self, state: str, trigger: str) -> Transition | None:
        return next((t for t in self.playbook.transitions if t.trigger == trigger and state in t.source), None)

    def fire(self, state: str, trigger: str, attempt: Attempt) -> str | None:
        """The destination if the guards pass (else None, with `attempt.refusals`).

        Runs of one playbook share a machine and the conductor records runs from several threads:
        placing, firing and removing the cursor happen under one lock."""
        cursor = _Cursor()
        with _FIRING:
            self._machine.add_model(cursor, initial=state)
            try:
                moved = cursor.trigger(trigger, attempt=attempt)  # type: ignore[attr-defined]
            except (MachineError, AttributeError):
                return None
            finally:
                self._machine.remove_model(cursor)
        return cursor.state if moved else None
