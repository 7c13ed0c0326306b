"""TAB completion through the real program, as bash asks for it (`_DRILL_COMPLETE=complete_bash`
with COMP_WORDS and COMP_CWORD): run names, triggers allowed now, open checklist items, roles,
people and plans (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FAKE_NOW, Drill


def _offered(drill: Drill, line: str, workspace: Path | None = None) -> list[str]:
    """What bash would offer for the last word of `line` (a trailing space: a new, empty word)."""
    words = line.split(" ")
    where = str(workspace or drill.root)
    done = drill(
        _DRILL_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), DRILL_WORKSPACE=where
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.split()


def test_run_names_complete_with_ids_last_four_and_last(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert _offered(drill, "drill status ") == [run, run[-4:], "last"]
    assert _offered(drill, f"drill act {run[:10]}") == [run]
    assert _offered(drill, f"drill export {run[-4:-2]}") == [run[-4:]]
    assert _offered(drill, "drill timeline la") == ["last"]


def test_triggers_items_roles_and_people_follow_the_run(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert _offered(drill, f"drill act {run[-4:]} ") == ["acknowledge", "escalate"]
    assert _offered(drill, "drill check last ") == ["bridge", "notify_customers", "report_regulator"]
    drill("check", run, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert _offered(drill, "drill check last ") == ["notify_customers", "report_regulator"]
    assert _offered(drill, f"drill act {run} acknowledge --role ") == ["lead", "noc", "comms"]
    assert _offered(drill, "drill note last hello --by ") == ["alice", "bob", "carol"]
    assert _offered(drill, f"drill assign {run} noc ") == ["alice", "bob", "carol"]
    assert _offered(drill, "drill assign last ") == ["lead", "noc", "comms"]


def test_plans_and_their_roles_complete_for_open_and_start(drill: Drill) -> None:
    assert "core-network-outage" in _offered(drill, "drill open ")
    assert _offered(drill, "drill open core-network-outage --as ") == ["lead=", "noc=", "comms="]
    assert _offered(drill, "drill start core-outage-q") == ["core-outage-q4"]
    assert _offered(drill, "drill start core-outage-q4 --as ") == ["lead=", "noc=", "comms="]


def test_a_completion_outside_a_workspace_offers_nothing_and_says_nothing(drill: Drill, tmp_path: Path) -> None:
    assert _offered(drill, "drill act nonsense ", tmp_path / "missing") == []
    assert _offered(drill, "drill status ", tmp_path) == ["last"]
