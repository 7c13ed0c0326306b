"""Who may act, as a pure rule: `--by` first, then the names the environment offers, a close
match for a typo, and a long roster counted rather than listed in full."""

from __future__ import annotations

import pytest

from drillkit.engine.people import Who, acting_name, close_match, on_roster
from drillkit.model.errors import Rejected

PEOPLE = {"alice", "bob", "carol", "王伟"}


def test_by_is_taken_when_it_may_act_and_never_replaced_by_a_default() -> None:
    assert acting_name(Who("bob", (("$DRILL_USER", "alice"),)), PEOPLE, "in this run") == "bob"
    with pytest.raises(Rejected, match=r"--by 'bbo' may not act in this run; .*did you mean 'bob'"):
        acting_name(Who("bbo", (("$DRILL_USER", "alice"),)), PEOPLE, "in this run")


def test_the_first_offered_name_that_may_act_is_taken() -> None:
    offered = (("$DRILL_USER", "dave"), ("the login name", "carol"))
    assert acting_name(Who(None, offered), PEOPLE, "in this run") == "carol"


def test_without_a_usable_name_every_reason_is_given_on_one_line() -> None:
    who = Who(None, (("$DRILL_USER", "alcie"),), ("the login name 'root' is a system account",))
    with pytest.raises(Rejected) as refused:
        acting_name(who, PEOPLE, "in this run")
    assert str(refused.value) == (
        "who acts? pass --by NAME ($DRILL_USER 'alcie' may not act in this run; "
        "the login name 'root' is a system account); who may act: alice, bob, carol, 王伟; did you mean 'alice'?"
    )


def test_close_matches_ignore_case_and_offer_nothing_far_off() -> None:
    assert close_match("ALICE", PEOPLE) == "alice"
    assert close_match("王玮", PEOPLE) == "王伟"
    assert close_match("zed", PEOPLE) is None


def test_a_long_roster_is_counted_and_no_roster_lets_anyone_in() -> None:
    roster = [f"person{n:02d}" for n in range(30)]
    with pytest.raises(Rejected, match=r"on the roster: person00, .*person11 and 18 more; did you mean 'person07'"):
        on_roster("persn07", roster, "person")
    assert on_roster("anyone", (), "person") == "anyone"
