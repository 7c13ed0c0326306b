"""Every answer that rests on the list of runs names the records it leaves out (those that cannot
be read as runs) in one line on stderr, and goes on with the others: `drill runs`, `playbooks`,
`coverage` and `forecast` alike."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Drill, rechained
from tests.e2e.test_forecast import write_incidents

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


@pytest.mark.parametrize("listing", ["coverage", "forecast"])
def test_a_record_with_a_line_that_is_not_json_between_its_first_and_last_is_named_and_left_out(
    drill: Drill, listing: str
) -> None:
    """The listing reads only each record's first and last lines; the forecast reads the whole of
    each resolved incident's, and there one corrupt line must not sink the whole answer."""
    write_incidents(drill.root, 11, seed=5)  # enough history for coverage's odds too
    runs = sorted(path.stem for path in (drill.root / "logs" / "runs").glob("*.jsonl"))
    lines = drill.record(runs[0]).read_bytes().splitlines(keepends=True)
    lines[2] = b'{"this is not json\n'
    drill.record(runs[0]).write_bytes(b"".join(lines))
    done = drill(*LISTINGS[listing])
    assert done.returncode in (0, 1), done.stderr  # coverage exits 1 for a playbook overdue
    assert done.stderr.splitlines() == [
        f"drill: 1 record(s) left out, not readable as runs: {runs[0]}.jsonl (see `drill verify --all`)"
    ]
    document = json.loads(done.stdout)
    if listing == "forecast":
        assert document["basis"]["runs"] == 10
    else:
        assert next(row for row in document if row["playbook"] == "core-network-outage")["forecast"]["runs"] == 10


def test_coverage_shows_its_table_when_a_past_incident_the_forecast_refuses_leaves_a_plan_without_odds(
    drill: Drill,
) -> None:
    """`drill forecast` refuses a rechained line lacking a field it reads (naming the seq, exit 1);
    `drill coverage` says the same line but still answers, with no odds for that plan."""
    write_incidents(drill.root, 10, seed=6)
    run = sorted(path.stem for path in (drill.root / "logs" / "runs").glob("*.jsonl"))[0]
    events = drill.events(run)
    edited = next(event for event in events if event["event"] == "transition")
    del edited["to"]
    drill.record(run).write_bytes(rechained(events))
    said = f"drill: the record of {run} cannot be replayed at seq {edited['seq']}: missing 'to' (see drill verify)"
    assert drill(*LISTINGS["forecast"]).stderr.splitlines() == [said]
    done = drill("coverage", "--json")
    assert done.returncode == 1, done.stderr  # the sample plans are overdue for a drill
    assert done.stderr.splitlines() == [said]
    rows = {row["playbook"]: row for row in json.loads(done.stdout)}
    assert rows["core-network-outage"]["forecast"] is None
    assert rows["core-network-outage"]["status"] == "never drilled"
