"""Crash safety: kill -9 at random moments while commands append (SPEC §4 guarantees).

A driver process imports drillkit once and, each cycle, forks two children that append notes
to one run through `drillkit.services.runs.apply` as fast as they can, reporting each acknowledged
`seq` and note text down a pipe only after `apply` returned. The driver SIGKILLs both after
a random short delay. Afterwards every acknowledged note must be in the record at its seq,
every record must verify, and every torn tail must be set aside and recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.store.stores import team_store
from tests.conftest import Drill, add_notes, read_events
from tests.independent_verifier import verify_bytes
from tests.teamdb import TeamDb

CYCLES = 240
RUNS = 6

DRIVER = r"""
import fcntl, os, random, signal, sys, time
from pathlib import Path
import structlog  # imported before forking, as the children use it
from drillkit.engine import decide
from drillkit.model.clock import SystemClock
from drillkit.services.runs import apply
from drillkit.config.workspace import Workspace

root, cycles, seed, runs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[6:]
tears = sys.argv[4] == "tear"  # a torn tail now and then: only a file can be torn
longest = float(sys.argv[5])  # seconds: the children are killed after a random delay up to this
ws, clock, rng = Workspace(root), SystemClock(), random.Random(seed)

def append_forever(run, tag, pipe):
    i = 0
    while True:
        text = f"{tag}-{i}"
        written = apply(ws, clock, run, lambda rs: decide.note(rs, text, "bob", None))
        os.write(pipe, f"{run} {written[-1]['seq']} {text}\n".encode())
        i += 1

def tear(run, cycle):
    # a writer that died mid-line: part of a line, no newline, written under the run's lock
    with open(ws.run_file(run), "ab") as record:
        fcntl.flock(record, fcntl.LOCK_EX)
        torn = f'{{"v":1,"seq":999,"text":"torn {cycle}'.encode()[: 5 + cycle % 20]
        record.write(torn)
    sys.stdout.write(f"{run} torn {len(torn)}\n")

for run in runs:  # warm up (imports, caches) before forking, so children append at once
    written = apply(ws, clock, run, lambda rs: decide.note(rs, "warm-up", "bob", None))
    sys.stdout.write(f"{run} {written[-1]['seq']} warm-up\n")

for cycle in range(cycles):
    run = runs[cycle % len(runs)]
    if tears and cycle // len(runs) % 4 == 1:
        tear(run, cycle)
    r, w = os.pipe()
    children = []
    for child in range(2):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                append_forever(run, f"c{cycle}.{child}", w)
            finally:
                os._exit(1)
        children.append(pid)
    os.close(w)
    time.sleep(rng.uniform(0.0, longest))
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    for pid in children:
        os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as acks:
        data = acks.read()
    complete = data[: data.rfind(b"\n") + 1]
    sys.stdout.write(complete.decode())
    sys.stdout.flush()
"""


def _killed_again_and_again(drill: Drill, runs: list[str], *, tear: bool, longest: float) -> list[list[str]]:
    """The driver's lines: `RUN SEQ TEXT` for each acknowledged note, `RUN torn BYTES` for each tear.
    Each cycle's children are killed after a random delay of up to `longest` seconds."""
    mode = "tear" if tear else "-"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(drill.root), str(CYCLES), "20261129", mode, str(longest), *runs],
        capture_output=True,
        text=True,
        env=drill.env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [line.split(" ") for line in done.stdout.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("history", [0, 1200], ids=["short records", "long records read on from snapshots"])
def test_kill_9_loses_nothing_acknowledged(drill: Drill, workspace: Path, history: int) -> None:
    runs = [drill.open() for _ in range(RUNS)]
    for run in runs:
        add_notes(workspace, run, history)
    lines = _killed_again_and_again(drill, runs, tear=True, longest=0.04)
    acked = [line for line in lines if line[1] != "torn"]
    tears = Counter(run for run, kind, _ in lines if kind == "torn")
    torn_bytes = Counter(dict.fromkeys(runs, 0))
    for run, kind, size in lines:
        if kind == "torn":
            torn_bytes[run] += int(size)
    assert len(acked) > CYCLES  # the children did append between kills

    # one more append per run through the CLI repairs any torn tail the last kill left
    torn_before = {run: drill.record(run).read_bytes().endswith(b"\n") is False for run in runs}
    for run in runs:
        drill("note", run, "after the kills", "--by", "alice", ok=True)

    for run in runs:
        path = drill.record(run)
        data = path.read_bytes()
        assert verify_bytes(data).verdict == "open"
        report = json.loads(drill("verify", run, "--json", ok=True).stdout)[0]
        assert (report["verdict"], report["torn_bytes"]) == ("open", 0)
        events = read_events(path)
        by_seq = {e["seq"]: e for e in events}
        texts = Counter(e["text"] for e in events if e["event"] == "note")
        assert all(n == 1 for n in texts.values()), "a note was written twice"
        for run_id, seq, text in acked:
            if run_id == run:
                assert by_seq[int(seq)].get("text") == text, f"acknowledged {text} at seq {seq} is lost"
        repairs = [e for e in events if e["event"] == "record.repaired"]
        if torn_before[run]:
            assert repairs, "the last torn tail was not recorded"
        aside = path.with_name(path.name + ".torn")
        torn = aside.read_bytes()
        # every torn tail set aside is recorded, each followed by a newline in the .torn file
        assert sum(e["bytes"] + 1 for e in repairs) == len(torn), "set-aside bytes not all recorded"
        assert all(e["file"] == aside.name for e in repairs)
        assert tears[run] >= CYCLES // RUNS // 4
        assert sum(e["bytes"] for e in repairs) >= torn_bytes[run]  # the deliberate tears at least
        assert path.with_name(path.name + ".snapshot").is_file() == bool(history)


@pytest.mark.slow
def test_kill_9_loses_nothing_acknowledged_on_the_team_store(drill: Drill, team_db: TeamDb) -> None:
    """The same kills with the records in PostgreSQL: a command killed before its COMMIT was
    answered leaves nothing, one acknowledged is there once, and the run's lock dies with it."""
    (drill.root / "drill.toml").write_text(f'[store]\nurl = "{team_db.url}"\n', encoding="utf-8")
    runs = [drill.open() for _ in range(RUNS)]
    # a child connects before its first append, and each append waits for a COMMIT: more time
    # between kills than on files, or on a busy machine too few appends are acknowledged to tell
    acked = _killed_again_and_again(drill, runs, tear=False, longest=0.1)
    assert len(acked) > CYCLES
    store = team_store(Workspace(drill.root), team_db.url)
    for run in runs:
        drill("note", run, "after the kills", "--by", "alice", ok=True)  # no lock is left held
        assert json.loads(drill("verify", run, "--json", ok=True).stdout)[0]["verdict"] == "open"
        events = store.read(run)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        texts = Counter(e["text"] for e in events if e["event"] == "note")
        assert all(n == 1 for n in texts.values()), "a note was written twice"
        by_seq = {e["seq"]: e for e in events}
        lost = [(seq, text) for run_id, seq, text in acked if run_id == run and by_seq[int(seq)].get("text") != text]
        assert lost == [], "acknowledged notes are lost"
