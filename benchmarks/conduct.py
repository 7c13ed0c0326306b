"""One conductor process with many live runs: how late injects and breaches are recorded, and its memory.

The conductor measured is the product's own: a real `drill scheduler` process conducting RUNS
drills started detached (`drill start --detach` leaves them to it), lateness read back from the
records, memory from the scheduler's own peak. Run by the harness as a child process
(`python -m benchmarks.conduct conduct|floor RUNS SPEED`); prints one JSON document. `floor` is a
bare Python timer loop over the same due times, recording only how late each wake-up is.
"""

from __future__ import annotations

import heapq
import json
import resource
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.core import REPO, Budget, Figure, child_env, drill_argv, percentile

if TYPE_CHECKING:
    from drillkit.config.workspace import Workspace

INJECTS = 20
DUES = [(60.0 * (i + 1), "inject") for i in range(INJECTS)] + [(t, "breach") for t in (180.0, 300.0, 600.0)]


def conduct(runs: int, speed: float) -> dict[str, Any]:
    """RUNS detached drills at SPEED, conducted by one `drill scheduler` until they end by time limit."""
    import shutil

    from benchmarks.workspaces import bench_workspace
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import SystemClock
    from drillkit.services.drills import start_drill

    root = bench_workspace("conduct")
    ws = Workspace(root)
    ids = [start_drill(ws, "bench-live", clock=SystemClock(), by="bench", speed=speed) for _ in range(runs)]
    scheduler = subprocess.Popen(
        [*drill_argv(), "scheduler"], cwd=root, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        unfinished, rss_mb = _until_ended(ws, ids, scheduler, limit=(INJECTS + 1) * 60 / speed + 30)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, errors = scheduler.communicate(timeout=30)
    if scheduler.returncode != 0:
        raise RuntimeError(f"drill scheduler exited {scheduler.returncode}: {errors.decode(errors='replace')[-500:]}")
    late, skipped = _lateness(ws, ids, _adopted(root), speed)
    shutil.rmtree(root, ignore_errors=True)
    return _summary(late, rss_mb, {"skipped": skipped, "unfinished": unfinished})


def _until_ended(ws: Workspace, ids: list[str], scheduler: subprocess.Popen[bytes], limit: float) -> tuple[int, float]:
    """Wait until every run has ended (or `limit` seconds): how many did not, and the scheduler's peak RSS."""
    from drillkit.store.index import has_ended

    until, left, rss_mb = time.monotonic() + limit, list(ids), 0.0
    while left and time.monotonic() < until:
        if scheduler.poll() is not None:
            break
        time.sleep(0.5)
        rss_mb = max(rss_mb, peak_rss_mb(scheduler.pid))
        left = [run_id for run_id in left if not has_ended(str(ws.run_file(run_id)))]
    return len(left), rss_mb


def _adopted(root: Path) -> dict[str, datetime]:
    """When the scheduler took each run on, from its log."""
    lines = (root / "logs" / "scheduler.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    return {e["run"]: _utc(e["ts"]) for e in events if e["event"] == "run.adopted"}


def _lateness(
    ws: Workspace, ids: list[str], adopted: dict[str, datetime], speed: float
) -> tuple[dict[str, list[float]], int]:
    """Milliseconds from due to recorded for every inject and breach; those due before the scheduler
    took the run on are catch-up, not lateness, and only counted."""
    from drillkit.store.stores import open_store

    late: dict[str, list[float]] = {"inject": [], "breach": []}
    skipped = 0
    store = open_store(ws)
    for run_id in ids:
        events = store.read(run_id)
        started = _utc(events[0]["ts"])
        for event in events:
            kind = {"inject.delivered": "inject", "deadline.breached": "breach"}.get(event["event"])
            if kind is None:
                continue
            due = started + timedelta(seconds=float(event["due"]) / speed)
            if run_id not in adopted or due < adopted[run_id]:
                skipped += 1
                continue
            late[kind].append((_utc(event["ts"]) - due).total_seconds() * 1000)
    return late, skipped


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
    return _summary(late, peak_rss_mb(), {})


def _summary(late: dict[str, list[float]], rss_mb: float, extra: dict[str, Any]) -> dict[str, Any]:
    stats = {
        kind: {"n": len(v), "p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "max": max(v, default=0.0)}
        for kind, v in late.items()
    }
    return {"lateness_ms": stats, "rss_mb": rss_mb, **extra}


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory of a process image (this one unless `pid`): VmHWM where Linux gives it
    (ru_maxrss after a fork+exec still carries the parent's peak), else this process's ru_maxrss;
    another process's peak needs Linux."""
    try:
        with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        if pid is not None:
            raise RuntimeError(f"no peak memory for process {pid}: /proc/{pid}/status cannot be read") from None
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
                note += f"; {live['skipped']} due before the scheduler took their run on left out"
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
