"""One table of event text: every event type has its words, for the terminal and the exports
and for the notifications."""

from __future__ import annotations

from drillkit.model.events import EventType
from drillkit.render.eventtext import EVENT_TEXT, acting_role, detail, headline

FAILED = {
    "seq": 7,
    "t": 12.0,
    "event": "notify.failed",
    "actor": "system",
    "role": None,
    "notifier": "noc-pager",
    "of": 3,
    "attempts": 5,
    "error": "HTTP 500",
}


def test_every_event_type_has_its_text() -> None:
    assert set(EVENT_TEXT) == set(EventType)


def test_an_outcome_of_a_delivery_has_a_detail_and_is_named_in_a_headline() -> None:
    assert detail(FAILED) == "noc-pager failed for #3: HTTP 500"
    assert headline(FAILED) == "notify.failed"


def test_the_role_of_assigned_is_the_role_handed_over_not_the_actors() -> None:
    given = {"event": "assigned", "actor": "alice", "role": "comms", "person": "dave"}
    assert acting_role(given) is None
    assert acting_role({**given, "event": "note", "text": "hi"}) == "comms"
