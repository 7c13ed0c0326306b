"""Naming a run by less than its id (SPEC §5): a unique prefix, its last four hex digits, `last`;
through the CLI, in every command that takes a RUN."""

from __future__ import annotations

import json

from drillkit.services.runnames import matching_runs
from tests.conftest import FAKE_NOW, Drill

LATER = "2026-11-29T08:01:00Z"


def _two_incidents(drill: Drill) -> tuple[str, str]:
    older = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    newer = drill.open(DRILL_FAKE_NOW=LATER)
    return older, newer


def test_last_four_hex_digits_and_a_unique_prefix_name_the_run(drill: Drill) -> None:
    older, newer = _two_incidents(drill)
    drill("note", older[-4:], "by its last four", "--by", "alice", ok=True, DRILL_FAKE_NOW=LATER)
    drill("act", newer[:-2], "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=LATER)
    assert drill.events(older)[-1]["text"] == "by its last four"
    assert drill.events(newer)[-1]["trigger"] == "acknowledge"
    for command in (["status", older[-4:], "--json"], ["export", older[-4:], "--format", "json"]):
        shown = json.loads(drill(*command, ok=True, DRILL_FAKE_NOW=LATER).stdout)
        assert older in json.dumps(shown), command
    verified = json.loads(drill("verify", older[-4:], newer[:20], "--json", ok=True).stdout)
    assert [v["run"] for v in verified] == [older, newer]


def test_an_ambiguous_prefix_is_refused_in_one_line_naming_the_candidates(drill: Drill) -> None:
    older, newer = _two_incidents(drill)
    before = [len(drill.events(run)) for run in (older, newer)]
    done = drill("note", "2026112", "which one?", "--by", "alice", DRILL_FAKE_NOW=LATER)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert "names 2 runs" in line
    assert older in line
    assert newer in line
    assert [len(drill.events(run)) for run in (older, newer)] == before
    done = drill("status", "nothing-like-a-run")
    assert done.returncode == 2
    assert "is not a run id" in done.stderr


def test_last_is_the_newest_run_not_ended(drill: Drill) -> None:
    older, newer = _two_incidents(drill)
    drill("abort", "last", "--by", "alice", "--reason", "opened twice", ok=True, DRILL_FAKE_NOW=LATER)
    assert drill.events(newer)[-1]["outcome"] == "aborted"
    drill("note", "last", "still on it", "--by", "alice", ok=True, DRILL_FAKE_NOW=LATER)
    assert drill.events(older)[-1]["text"] == "still on it"
    drill("note", "last:core-network-outage", "this playbook", "--by", "alice", ok=True, DRILL_FAKE_NOW=LATER)
    assert drill.events(older)[-1]["text"] == "this playbook"
    refused = drill("note", "last:customer-data-leak", "none open", "--by", "alice", DRILL_FAKE_NOW=LATER)
    assert refused.returncode == 2
    assert "no run is open" in refused.stderr
    drill("abort", "last", "--by", "alice", "--reason", "done", ok=True, DRILL_FAKE_NOW=LATER)
    refused = drill("status", "last")
    assert refused.returncode == 2
    assert len(refused.stderr.splitlines()) == 1
    assert f"the newest run is {newer}" in refused.stderr


def test_four_hex_digits_are_an_ids_last_four_before_they_are_a_prefix() -> None:
    ids = ["20261129T080100Z-core-2026", "20261129T080000Z-core-1a2b", "20261128T080000Z-dns-2026"]
    assert matching_runs(ids[:2], "2026") == ["20261129T080100Z-core-2026"]
    assert matching_runs(ids, "2026") == ["20261129T080100Z-core-2026", "20261128T080000Z-dns-2026"]
    assert matching_runs(ids, "1a2b") == ["20261129T080000Z-core-1a2b"]
    assert matching_runs(ids[1:2], "2026") == ["20261129T080000Z-core-1a2b"]  # no id ends so: a prefix
    assert matching_runs(ids, "") == []


def test_last_is_refused_rather_than_pass_over_a_newer_record_it_cannot_read(drill: Drill) -> None:
    older, newer = _two_incidents(drill)
    drill.record(newer).write_bytes(drill.record(newer).read_bytes()[:100])  # its first line cut
    before = drill.record(older).read_bytes()
    for name in ("last", "last:core-network-outage"):
        done = drill("note", name, "which one?", "--by", "alice", DRILL_FAKE_NOW=LATER)
        assert done.returncode == 2
        assert done.stderr == (
            f"drill: `{name}` cannot tell whether {newer} is open: its record cannot be read as a run"
            " (see `drill verify --all`); name the run you mean\n"
        )
    assert drill.record(older).read_bytes() == before
    refused = drill("note", "last:customer-data-leak", "none open", "--by", "alice", DRILL_FAKE_NOW=LATER)
    assert "no run is open" in refused.stderr  # another playbook's damaged record is not its business


def test_last_names_an_open_run_newer_than_a_record_it_cannot_read(drill: Drill) -> None:
    older, newer = _two_incidents(drill)
    drill.record(older).write_bytes(drill.record(older).read_bytes()[:100])
    drill("note", "last", "the newer one", "--by", "alice", ok=True, DRILL_FAKE_NOW=LATER)
    assert drill.events(newer)[-1]["text"] == "the newer one"
