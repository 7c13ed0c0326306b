"""Several people acting on one run at once (SPEC §4): no lost, repeated or illegal events.

A two-state loop playbook gives many legal transitions: `go` (a -> b) and `back` (b -> a),
so about half of the transitions fired at random are rejected as not valid in the state the
run is in at that moment. Every command carries a unique note text.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Drill, add_notes, read_events
from tests.independent_verifier import verify_bytes

LOOP = """\
playbook: loop
title: Two-state loop
kind: outage
version: 1
severities:
  I: {label: Only}
roles:
  ops: Operator
states:
  a:
    initial: true
    owner: ops
    checklist: {c0: zero, c1: one, c2: two, c3: three, c4: four, c5: five, c6: six, c7: seven}
  b: {owner: ops}
  done: {final: true}
transitions:
  - {trigger: go, from: a, to: b}
  - {trigger: back, from: b, to: a}
  - {trigger: finish, from: b, to: done, roles: [ops]}
"""
WORKERS = 8
COMMANDS = 50

WORKER = r"""
import random, sys
from pathlib import Path
from drillkit.engine import decide
from drillkit.model.clock import SystemClock
from drillkit.model.errors import Rejected
from drillkit.services.runs import apply
from drillkit.config.workspace import Workspace

root, run, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ws, clock, rng = Workspace(root), SystemClock(), random.Random(worker)
for i in range(count):
    tag, kind = f"w{worker}-{i}", rng.choice(["act", "act", "check", "note"])
    if kind == "act":
        make = lambda rs: decide.act(rs, rng.choice(["go", "back"]), f"p{worker}", None, tag)
    elif kind == "check":
        make = lambda rs: decide.check(rs, f"c{rng.randrange(8)}", f"p{worker}", None, tag)
    else:
        make = lambda rs: decide.note(rs, tag, f"p{worker}", None)
    try:
        apply(ws, clock, run, make)
    except Rejected:
        print("rejected", tag, flush=True)
    else:
        print("ok", tag, flush=True)
"""


def tag_of(event: dict[str, Any]) -> str | None:
    return event.get("text") if event["event"] == "note" else event.get("note")


def check_record(path: Path, accepted: set[str]) -> list[dict[str, Any]]:
    """Verifies, seq 1..n, every transition legal from the state before it, accepted == recorded."""
    assert verify_bytes(path.read_bytes()).verdict == "open"
    events = read_events(path)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    legal = {("go", "a"): "b", ("back", "b"): "a", ("finish", "b"): "done"}
    state, done = events[0]["state"], set()
    for event in events[1:]:
        if event["event"] == "transition":
            assert event["from"] == state, f"seq {event['seq']}: {event['trigger']} from {event['from']} in {state}"
            assert legal[(event["trigger"], state)] == event["to"]
            state = event["to"]
        if event["event"] == "check.done":
            assert event["item"] not in done, f"seq {event['seq']}: {event['item']} checked twice"
            done.add(event["item"])
            assert event["state"] == state
    tags = [tag_of(e) for e in events[1:]]
    assert len(tags) == len(set(tags)), "an event was written twice"
    assert set(tags) == accepted
    return events


@pytest.mark.slow
@pytest.mark.parametrize("history", [0, 1200], ids=["a short record", "a long record read on from its snapshot"])
def test_eight_processes_fifty_commands_each(drill: Drill, workspace: Path, history: int) -> None:
    (workspace / "playbooks" / "loop.yaml").write_text(LOOP, encoding="utf-8")
    run = drill.open("--as", "ops=p0", playbook="loop", severity="I")
    add_notes(workspace, run, history)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(workspace), run, str(worker), str(COMMANDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=drill.env(),
        )
        for worker in range(WORKERS)
    ]
    accepted: set[str] = set()
    rejected = 0
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        lines = [line.split(" ") for line in out.splitlines()]
        assert len(lines) == COMMANDS
        accepted |= {tag for verdict, tag in lines if verdict == "ok"}
        rejected += sum(verdict == "rejected" for verdict, _ in lines)
    assert rejected > 0
    assert len(accepted) > WORKERS * COMMANDS // 3
    events = check_record(drill.record(run), accepted | {f"history {n}" for n in range(history)})
    assert len(events) == len(accepted) + history + 1
    assert drill.record(run).with_name(f"{run}.jsonl.snapshot").is_file() == bool(history)


@pytest.mark.slow
def test_concurrent_cli_commands_exit_zero_only_when_recorded(drill: Drill, workspace: Path) -> None:
    (workspace / "playbooks" / "loop.yaml").write_text(LOOP, encoding="utf-8")
    run = drill.open("--as", "ops=p0", playbook="loop", severity="I")
    jobs = []
    for worker in range(WORKERS):
        for i in range(5):
            tag = f"cli{worker}-{i}"
            jobs.append(
                (
                    tag,
                    [
                        ("act", run, ["go", "back"][(worker + i) % 2], "--by", f"p{worker}", "--note", tag),
                        ("check", run, f"c{(worker + i) % 8}", "--by", f"p{worker}", "--note", tag),
                        ("note", run, tag, "--by", f"p{worker}"),
                    ][i % 3],
                )
            )
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda job: (job[0], drill(*job[1])), jobs))
    accepted = set()
    for tag, done in results:
        assert done.returncode in (0, 2), done.stderr
        if done.returncode == 0:
            accepted.add(tag)
        else:
            assert len(done.stderr.splitlines()) == 1
    check_record(drill.record(run), accepted)
