"""How `drill replay` masks people's names in free text (engine/recast.Placeholders)."""

from __future__ import annotations

from drillkit.engine.recast import Placeholders


def names(*people: tuple[str, str]) -> Placeholders:
    found = Placeholders()
    for person, role in people:
        found.add(person, role)
    return found


def test_every_name_becomes_its_placeholder_in_any_case_and_script() -> None:
    found = names(("alice", "lead"), ("bob", "noc"), ("张伟", "comms"))
    assert found.scrub("Alice paged BOB; 张伟已到场; bobby stays") == "lead-1 paged noc-1; comms-1已到场; bobby stays"


def test_a_placeholder_written_is_never_read_again_as_a_name() -> None:
    """A person whose name is a role's (`lead`) or a placeholder's part (`1`) leaves the other
    placeholders whole."""
    found = names(("alice", "lead"), ("lead", "noc"), ("1", "comms"))
    assert found.scrub("alice and lead, then 1") == "lead-1 and noc-1, then comms-1"
