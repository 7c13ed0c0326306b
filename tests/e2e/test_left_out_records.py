"""Every answer that rests on the list of runs names the records it leaves out (those that cannot
be read as runs) in one line on stderr, and goes on with the others: `drill runs`, `playbooks`,
`coverage` and `forecast` alike."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Drill

LISTINGS = {
    "runs": ["runs", "--json"],
    "playbooks": ["playbooks", "--json"],
    "coverage": ["coverage", "--json"],
    "forecast": ["forecast", "core-network-outage", "--severity", "II", "--runs", "100", "--json"],
}


@pytest.mark.parametrize("listing", LISTINGS.values(), ids=LISTINGS.keys())
def test_a_record_the_listing_cannot_read_is_named_by_every_answer_resting_on_it(
    drill: Drill, listing: list[str]
) -> None:
    good, bad = drill.open(), drill.open()
    drill.record(bad).write_bytes(drill.record(bad).read_bytes()[:100])  # its first line cut
    done = drill(*listing)
    assert done.returncode in (0, 1), done.stderr  # coverage exits 1 for a playbook overdue
    json.loads(done.stdout)
    assert done.stderr.splitlines() == [
        f"drill: 1 record(s) left out, not readable as runs: {bad}.jsonl (see `drill verify --all`)"
    ]
    drill.record(bad).unlink()
    assert drill(*listing).stderr == ""
    assert good in drill("runs", "--json").stdout
