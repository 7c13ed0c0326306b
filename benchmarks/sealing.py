"""What sealing costs (SPEC §9): fsync'd appends by a conducting process that holds the seal key
against the same appends where there is no key, and a command that ends a run (and so seals it)
against the same command where there is no key. Both sides run alternately on the same disk."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.core import Budget, Figure, alternate, child_env, drill_argv, run_timed
from benchmarks.runs import make_run, note
from benchmarks.workspaces import bench_workspace
from drillkit.config.workspace import Workspace
from drillkit.store.stores import SEAL_EVERY

Append = Callable[[str], None]


def sealing_figures(block: int, reps: int) -> list[Figure]:
    keyed, plain = bench_workspace("sealed"), bench_workspace("unsealed")
    try:
        init = [*drill_argv(), "--workspace", str(keyed), "keys", "init"]
        subprocess.run(init, env=child_env(), check=True, capture_output=True)
        # the same settings file on both sides (a write asks after it), with no key on this one
        (plain / "drill.toml").write_text("[integrity]\n", encoding="utf-8")
        return [_appends(keyed, plain, block, reps), _command(keyed, plain, reps)]
    finally:
        shutil.rmtree(keyed, ignore_errors=True)
        shutil.rmtree(plain, ignore_errors=True)


def _appender(root: Path) -> Append:
    """Appends as a conductor makes them: one store for the process, sealing every minute where
    the key is (and at its first write to a run)."""
    from drillkit.model.clock import SystemClock
    from drillkit.store.stores import open_store

    clock = SystemClock()
    store = open_store(Workspace(root), conducting=True, clock=clock)

    def append(run_id: str) -> None:
        store.append(run_id, lambda _events, _now: [note(0)], clock)

    return append


def _appends(keyed: Path, plain: Path, block: int, reps: int) -> Figure:
    """Blocks of paired appends (one keyed, one plain, in turn) to a fresh run on each side, after
    the first write to each (where the keyed conductor seals the run): the steady state between a
    conductor's seals, which come once a minute per run. The seal's own cost is timed apart, with
    what it leaves the file system to write (a sync on each side)."""
    sealing, unsealed = _appender(keyed), _appender(plain)
    _paired_block(keyed, plain, sealing, unsealed, block)  # unrecorded: imports, first files
    blocks = [_paired_block(keyed, plain, sealing, unsealed, block) for _ in range(reps)]
    rate, floor = statistics.median(b.rate for b in blocks), statistics.median(b.floor for b in blocks)
    seal = statistics.median(b.seal for b in blocks)
    every_block = block / (block / rate + seal)
    return Figure(
        "fsync'd appends, sealing (conductor with the key)",
        "/s",
        rate,
        floor,
        "same appends, no seal key",
        Budget(">=", 0.95),
        reps,
        f"blocks of {block} paired appends to a fresh 10-event run; {1e6 / rate - 1e6 / floor:.0f} µs per append"
        f" above the unkeyed; a seal (at the first write, then once a minute) takes {seal * 1000:.1f} ms more"
        f" than that write unkeyed: {seal / SEAL_EVERY:.3%} of a minute; were a run sealed every {block}"
        f" appends, {every_block / floor:.2f}×",
        {"seal_ms": seal * 1000},
    )


@dataclass(frozen=True)
class _Block:
    rate: float  # keyed appends per second
    floor: float  # unkeyed appends per second
    seal: float  # seconds the keyed first write (which seals) took more than the unkeyed one


def _paired_block(keyed: Path, plain: Path, sealing: Append, unsealed: Append, block: int) -> _Block:
    run_a, run_b = make_run(keyed, 10), make_run(plain, 10)
    clock = time.perf_counter
    start = clock()
    sealing(run_a)
    os.sync()  # what the seal left for the file system to write later is its cost, not the block's
    middle = clock()
    unsealed(run_b)
    os.sync()
    seal = max(0.0, (middle - start) - (clock() - middle))
    ours = theirs = 0.0
    for n in range(block):  # A B, then B A: neither side always meets the disk right after the other
        first, second = (sealing, unsealed) if n % 2 == 0 else (unsealed, sealing)
        start = clock()
        first(run_a if first is sealing else run_b)
        middle = clock()
        second(run_a if second is sealing else run_b)
        end = clock()
        ours += middle - start if first is sealing else end - middle
        theirs += end - middle if first is sealing else middle - start
    return _Block(block / ours, block / theirs, seal)


def _command(keyed: Path, plain: Path, reps: int) -> Figure:
    """`drill abort` ends a run and so seals it where the key is: the wall time it adds."""
    p = alternate(lambda: _abort(keyed), lambda: _abort(plain), reps)
    return Figure(
        "drill abort, sealing the run it ends (wall)",
        "s",
        p.a,
        p.b,
        "same command, no seal key",
        Budget("<=", 0.05, "above", "s"),
        reps,
        f"{(p.a - p.b) * 1000:+.0f} ms; {p.cpu_note()}",
        {"cpu_value": p.cpu_a, "cpu_floor": p.cpu_b} if p.cpu_a else {},
    )


def _abort(root: Path) -> float:
    run_id = make_run(root, 10)
    return run_timed([*drill_argv(), "--workspace", str(root), "abort", run_id, "--by", "alice", "--reason", "bench"])
