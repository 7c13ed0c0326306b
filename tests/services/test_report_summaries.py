"""The summaries `drill report` keeps of each run (`logs/report-cache.json`): the cache follows
a record that grows, does not open a record whose stamp is unchanged, and a summary made without
the notes reads the same as one made from every event."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from drillkit.config.workspace import Workspace
from drillkit.model.redact import Redactor
from drillkit.plans.library import Plans
from drillkit.services.report_summaries import summaries, summarise
from drillkit.services.runs import started_draft
from drillkit.store.files import GENESIS, Chain, render_lines
from drillkit.store.port import Event
from drillkit.store.reader import parse_lines
from tests.engine.test_metrics import invoke, review_ws
from tests.services.test_report import PEOPLE, START, check, figures, move

__all__ = ["review_ws"]  # the fixture, used by name


def test_cache_follows_a_record_that_grows(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice").stdout.strip()
    first = figures(review_ws)["overall"]["metrics"][0]
    assert (first["name"], first["measured"]) == ("time_to_acknowledge", 0)
    invoke(review_ws, "act", run, "acknowledge", "--by", "bob", now="2026-11-29T08:02:00Z")
    first = figures(review_ws)["overall"]["metrics"][0]
    assert (first["measured"], first["median"], first["met"]) == (1, 120.0, 1)


def test_a_record_whose_size_and_time_are_unchanged_is_not_read_again(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice").stdout.strip()
    invoke(review_ws, "act", run, "acknowledge", "--by", "bob", now="2026-11-29T08:02:00Z")
    assert figures(review_ws)["overall"]["runs"] == 1
    record = review_ws / "logs" / "runs" / f"{run}.jsonl"
    original, stat = record.read_bytes(), record.stat()
    try:
        record.write_bytes(b"x" * len(original))  # what a re-read would see: not a run at all
        os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert figures(review_ws)["overall"]["runs"] == 1  # the cached summary, file not opened
        os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        assert figures(review_ws)["overall"]["runs"] == 0  # a changed stamp is read again
    finally:
        record.write_bytes(original)


def test_a_summary_skips_notes_and_reads_the_same_as_every_event(review_ws: Path) -> None:
    """The first report parses no note between a record's first and last line: what it sums
    up is what every event gives, with notes that quote event keys, an action whose note looks
    like a note's key, and the record's last line a note."""
    ws = Workspace(review_ws)
    pb = Plans(ws).playbook("core-network-outage")
    begin = START
    run_id = f"{begin.strftime('%Y%m%dT%H%M%SZ')}-core-network-outage-0abc"
    quoting = '"event":"transition","to":"resolved",'
    steps: list[tuple[float, Event]] = [
        (30, move("bob", "noc", "acknowledge", "detected", "triage")),
        (31, {**check("alice", "lead", "bridge", "triage"), "note": '"event":"note",'}),
        (4000, move("bob", "noc", "mitigate", "triage", "mitigated")),
        *((10.0 * n, {"event": "note", "actor": "carol", "role": "comms", "text": quoting}) for n in range(1, 500)),
        (5000, {"event": "note", "actor": "carol", "role": "comms", "text": "last word"}),
    ]
    first = started_draft(ws, pb=pb, mode="incident", severity="II", by="gen", participants=PEOPLE)
    drafts = [{**draft, "_now": begin + timedelta(seconds=at)} for at, draft in sorted(steps, key=lambda s: s[0])]
    lines = render_lines(Chain(run_id, 0, GENESIS, None, 1.0, None), Redactor(()), [first, *drafts], begin)[0]
    ws.ensure_dir(ws.runs)
    (ws.runs / f"{run_id}.jsonl").write_bytes(b"".join(lines))

    found, left_out = summaries(ws)
    every_event, _torn = parse_lines(b"".join(lines))
    assert (found, left_out) == ([summarise(every_event)], [])
    assert {m["name"]: m["value"] for m in found[0]["metrics"]}["time_to_acknowledge"] == 30
    assert found[0]["open"]
