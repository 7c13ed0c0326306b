"""In-process figures: fsync'd appends through `drillkit.services.runs.Runs.apply`, and simulations per second.
Each is timed in blocks, alternating with its floor block on the same disk."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.core import Budget, Figure
from benchmarks.runs import make_run
from benchmarks.workspaces import bench_workspace
from drillkit.config.workspace import Workspace
from drillkit.engine import decide

FILE_MODE = 0o640
Append = Callable[[str, int], None]  # (run id, n): one append of the n-th line


def append_figures(block: int, reps: int) -> list[Figure]:
    """Appends per second against raw write+fsync of the same lines: a whole command through
    `runs.apply` (catch-up, decide, record), with the budget; the record writer alone, as context."""
    from drillkit.model.clock import SystemClock
    from drillkit.services.runs import Runs

    root = bench_workspace("append")
    ws, clock = Workspace(root), SystemClock()
    runs = Runs(ws)  # one process appending again and again keeps one store, as a conductor does

    def command(run_id: str, n: int) -> None:
        runs.apply(clock, run_id, _note_command(n))

    def writer(run_id: str, n: int) -> None:
        drafts = [{"event": "note", "actor": "bob", "role": "noc", "text": f"status {n}: BJ-3 ring flapping"}]
        runs.store.append(run_id, lambda _events, _now: drafts, clock)

    try:
        return [
            _append_figure(root, "fsync'd appends (runs.apply, note)", command, block, reps, budget=Budget(">=", 0.8)),
            _append_figure(root, "fsync'd appends (record writer alone)", writer, block, reps, budget=None),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _append_figure(root: Path, name: str, append: Append, block: int, reps: int, *, budget: Budget | None) -> Figure:
    """Paired: each drill append is followed at once by the raw loop's write+fsync of a line drill
    wrote, so both sides meet the disk in the same state (its fsync time drifts by a third from one
    moment to the next, more than the difference measured). A block's rate on each side is its
    appends over its own time; medians over the blocks."""
    ws = Workspace(root)
    fd = os.open(root / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        lines = _written_lines(ws, append, block)  # an unrecorded block, which also gives the raw side its lines
        pairs = [_paired_block(ws, append, fd, lines) for _ in range(reps)]
    finally:
        os.close(fd)
    rate, floor_rate = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    above = 1e6 / rate - 1e6 / floor_rate  # what the ratio hides: it moves with the disk's fsync time
    return Figure(
        name,
        "/s",
        rate,
        floor_rate,
        "raw write+fsync, same lines",
        budget,
        reps,
        f"blocks of {block} paired appends to a fresh 10-event run; {above:.0f} µs per append above the raw loop's",
    )


def _written_lines(ws: Workspace, append: Append, block: int) -> list[bytes]:
    run_id = make_run(ws.root, 10)
    path = ws.run_file(run_id)
    before = path.stat().st_size
    for n in range(block):
        append(run_id, n)
    return path.read_bytes()[before:].splitlines(keepends=True)


def _paired_block(ws: Workspace, append: Append, fd: int, lines: list[bytes]) -> tuple[float, float]:
    """Appends per second on each side over one block of pairs."""
    run_id = make_run(ws.root, 10)
    ours = raw = 0.0
    clock = time.perf_counter
    for n, line in enumerate(lines):
        start = clock()
        append(run_id, n)
        middle = clock()
        os.write(fd, line)
        os.fsync(fd)
        ours += middle - start
        raw += clock() - middle
    return len(lines) / ours, len(lines) / raw


def simulate_figure(block: int, reps: int) -> Figure:
    """Simulations per second of a 20-inject scenario; floor: creating and fsyncing a file of the same bytes."""
    from drillkit.model.clock import SystemClock
    from drillkit.services.simulate import simulate

    root = bench_workspace("sim")
    ws, clock = Workspace(root), SystemClock()
    sample: list[bytes] = [b""]
    floor_dir = root / "floor"
    floor_dir.mkdir()

    def product() -> float:
        start = time.perf_counter()
        last = None
        for _ in range(block):
            last = simulate(ws, clock, "bench-sim")
        elapsed = time.perf_counter() - start
        assert last is not None
        sample[0] = ws.run_file(last.run_id).read_bytes()
        return block / elapsed

    def floor() -> float:
        start = time.perf_counter()
        for n in range(block):
            fd = os.open(floor_dir / f"{n}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            try:
                os.write(fd, sample[0])
                os.fsync(fd)
            finally:
                os.close(fd)
        return block / (time.perf_counter() - start)

    try:
        rates, floors = _blocks(product, floor, reps)
        events = sample[0].count(b"\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Figure(
        "simulations of a 20-inject scenario",
        "/s",
        statistics.median(rates),
        statistics.median(floors),
        "create+write+fsync, same bytes",
        Budget(">=", 200, "absolute", "/s"),
        reps,
        f"blocks of {block}; each record {events} events, {len(sample[0]):,} bytes",
    )


def _note_command(n: int) -> Callable[[Any], list[dict[str, Any]]]:
    """`drill note`'s decision, as the CLI makes it (`commands` imported once, as in a command)."""
    return lambda rs: decide.note(rs, f"status {n}: BJ-3 ring flapping", "bob", None)


def _blocks(product: Callable[[], float], floor: Callable[[], float], reps: int) -> tuple[list[float], list[float]]:
    """A B A B … after one unrecorded pair (which also gives the floor its bytes)."""
    product()
    floor()
    left: list[float] = []
    right: list[float] = []
    for _ in range(reps):
        left.append(product())
        right.append(floor())
    return left, right
