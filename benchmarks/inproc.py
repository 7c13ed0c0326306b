"""In-process figures: fsync'd appends through `drillkit.runs.apply`, and simulations per second.
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

FILE_MODE = 0o640


def append_figures(block: int, reps: int) -> list[Figure]:
    """Appends per second against raw write+fsync of the same lines: a whole command through
    `runs.apply` (catch-up, decide, record), with the budget; the record writer alone, as context."""
    from drillkit.clock import SystemClock
    from drillkit.record import RunRecord
    from drillkit.runs import apply
    from drillkit.workspace import Workspace

    root = bench_workspace("append")
    ws, clock = Workspace(root), SystemClock()

    def command(run_id: str, n: int) -> None:
        apply(ws, clock, run_id, _note_command(n))

    def writer(run_id: str, n: int) -> None:
        drafts = [{"event": "note", "actor": "bob", "role": "noc", "text": f"status {n}: BJ-3 ring flapping"}]
        RunRecord(ws, run_id).append(lambda _events, _now: drafts, clock)

    try:
        return [
            _append_figure(root, "fsync'd appends (runs.apply, note)", command, block, reps, budget=Budget(">=", 0.8)),
            _append_figure(root, "fsync'd appends (record writer alone)", writer, block, reps, budget=None),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _append_figure(
    root: Path, name: str, append: Callable[[str, int], None], block: int, reps: int, *, budget: Budget | None
) -> Figure:
    from drillkit.workspace import Workspace

    ws = Workspace(root)
    raw = root / "raw.jsonl"
    lines: list[bytes] = []

    def product() -> float:
        run_id = make_run(root, 10)
        path = ws.run_file(run_id)
        before = path.stat().st_size
        start = time.perf_counter()
        for n in range(block):
            append(run_id, n)
        elapsed = time.perf_counter() - start
        lines[:] = path.read_bytes()[before:].splitlines(keepends=True)
        return block / elapsed

    def floor() -> float:
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        try:
            start = time.perf_counter()
            for line in lines:
                os.write(fd, line)
                os.fsync(fd)
            return len(lines) / (time.perf_counter() - start)
        finally:
            os.close(fd)

    rates, floors = _blocks(product, floor, reps)
    rate, floor_rate = statistics.median(rates), statistics.median(floors)
    above = 1e6 / rate - 1e6 / floor_rate  # what the ratio hides: it moves with the disk's fsync time
    return Figure(
        name,
        "/s",
        rate,
        floor_rate,
        "raw write+fsync, same lines",
        budget,
        reps,
        f"blocks of {block} appends to a fresh 10-event run; {above:.0f} µs per append above the raw loop's",
    )


def simulate_figure(block: int, reps: int) -> Figure:
    """Simulations per second of a 20-inject scenario; floor: creating and fsyncing a file of the same bytes."""
    from drillkit.clock import SystemClock
    from drillkit.simulate import simulate
    from drillkit.workspace import Workspace

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
    from drillkit import commands

    return lambda rs: commands.note(rs, f"status {n}: BJ-3 ring flapping", "bob", None)


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
