"""One conductor process with many live runs: how late injects and breaches are recorded, and its memory.

Run by the harness as a child process (`python -m benchmarks.conduct conduct|floor RUNS SPEED`) so that
its ru_maxrss is its own; prints one JSON document. `floor` is a bare Python timer loop over the
same due times, recording only how late each wake-up is.
"""

from __future__ import annotations

import heapq
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.core import REPO, Budget, Figure, child_env, percentile

INJECTS = 20
DUES = [(60.0 * (i + 1), "inject") for i in range(INJECTS)] + [(t, "breach") for t in (180.0, 300.0, 600.0)]


def conduct(runs: int, speed: float) -> dict[str, Any]:
    import shutil

    from benchmarks.workspaces import bench_workspace
    from drillkit.clock import SystemClock
    from drillkit.conductor import POLL, Conductor
    from drillkit.drills import start_drill
    from drillkit.record import RunRecord
    from drillkit.workspace import Workspace

    root = bench_workspace("conduct")
    ws, clock = Workspace(root), SystemClock()
    ids = [start_drill(ws, "bench-live", clock=clock, by="bench", speed=speed) for _ in range(runs)]
    conductor = Conductor(ws, clock)
    for run_id in ids:
        conductor.adopt(run_id)
    began = datetime.now(UTC)
    limit = time.monotonic() + (INJECTS + 1) * 60 / speed + 30
    while conductor.live and time.monotonic() < limit:
        wait = conductor.tick()
        clock.sleep(min(wait, POLL))
    unfinished = len(conductor.live)
    conductor.close()
    late: dict[str, list[float]] = {"inject": [], "breach": []}
    skipped = 0
    for run_id in ids:
        events = RunRecord(ws, run_id).read()
        started = _utc(events[0]["ts"])
        for event in events:
            kind = {"inject.delivered": "inject", "deadline.breached": "breach"}.get(event["event"])
            if kind is None:
                continue
            due = started + timedelta(seconds=float(event["due"]) / speed)
            if due < began:
                skipped += 1  # came due before the conductor began: catch-up, not lateness
                continue
            late[kind].append((_utc(event["ts"]) - due).total_seconds() * 1000)
    shutil.rmtree(root, ignore_errors=True)
    return _summary(late, {"skipped": skipped, "unfinished": unfinished})


def floor(runs: int, speed: float) -> dict[str, Any]:
    """The same due times (compressed to a few seconds), waited for by a bare sleep loop."""
    squeeze = max(1.0, (max(t for t, _ in DUES) / speed) / 5.0)
    start = time.monotonic() + 0.2
    heap = [(start + due / speed / squeeze + n * 0.0001, kind) for n in range(runs) for due, kind in DUES]
    heapq.heapify(heap)
    late: dict[str, list[float]] = {"inject": [], "breach": []}
    while heap:
        due, kind = heapq.heappop(heap)
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)
        late[kind].append(max(0.0, time.monotonic() - due) * 1000)
    return _summary(late, {})


def _summary(late: dict[str, list[float]], extra: dict[str, Any]) -> dict[str, Any]:
    rss_mb = peak_rss_mb()
    stats = {
        kind: {"n": len(v), "p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "max": max(v, default=0.0)}
        for kind, v in late.items()
    }
    return {"lateness_ms": stats, "rss_mb": rss_mb, **extra}


def peak_rss_mb() -> float:
    """Peak resident memory of this process image: VmHWM where Linux gives it (ru_maxrss after a
    fork+exec still carries the parent's peak), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _child(kind: str, runs: int, speed: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.conduct", kind, str(runs), str(speed)]
    done = subprocess.run(argv, env=child_env(), cwd=REPO, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"conductor benchmark failed: {done.stderr.decode(errors='replace')[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def conductor_figures(runs: int, speed: float) -> list[Figure]:
    live, bare = _child("conduct", runs, speed), _child("floor", runs, speed)
    figures = []
    for kind in ("inject", "breach"):
        ours, base = live["lateness_ms"][kind], bare["lateness_ms"][kind]
        for stat in ("p50", "p99", "max"):
            budget = Budget("<=", 20, "absolute", "ms") if stat == "p99" else None
            name = f"conductor {runs} runs: {kind} lateness {stat}"
            note = ""
            if stat == "p50":
                note = f"{ours['n']} {kind} events, speed {speed:g}"
                note += f"; {live['skipped']} due before the conductor began left out"
            figures.append(Figure(name, "ms", ours[stat], max(base[stat], 0.001), "sleep loop", budget, 1, note))
    figures.append(
        Figure(
            f"conductor {runs} runs: peak RSS",
            "MB",
            live["rss_mb"],
            bare["rss_mb"],
            "bare interpreter",
            Budget("<=", 200, "absolute", "MB"),
            1,
            f"{live['unfinished']} runs unfinished at the limit" if live["unfinished"] else "",
        )
    )
    return figures


if __name__ == "__main__":
    what, count, pace = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps((conduct if what == "conduct" else floor)(count, pace)))
