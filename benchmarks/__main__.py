"""`python -m benchmarks [--quick] [--json]`: every figure against its floor, measured in this run.

Each figure is the median of repeated runs, alternating with its floor (A B A B …) so that machine
noise hits both sides. The table shows figure, value, floor, ratio, budget and whether it holds;
`--json` prints one JSON document instead. `--quick` uses tiny sizes (a smoke test, not a verdict).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.core import Figure, compile_sources, table


@dataclass(frozen=True)
class Sizes:
    reps: int
    big_run: int
    append_block: int
    sim_block: int
    corpus_events: int
    corpus_per_run: int
    corpus_reps: int
    playbooks: int
    conductor_runs: tuple[int, ...]
    speed: float
    forecast_runs: int
    team_reps: int
    team_block: int
    team_samples: int
    team_lease: float


FULL = Sizes(15, 10_000, 100, 50, 1_000_000, 1000, 5, 1000, (50, 100), 60.0, 100_000, 15, 200, 100, 10.0)
QUICK = Sizes(3, 500, 10, 5, 2_000, 100, 1, 20, (5, 10), 1200.0, 2_000, 1, 10, 10, 1.0)


def plan(s: Sizes) -> list[tuple[str, Callable[[], list[Figure]]]]:
    from benchmarks import bulk, conduct, forecast, inproc, sealing, startup, team

    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("start-up", lambda: startup.startup_figures(s.reps, s.big_run)),
        ("appends", lambda: inproc.append_figures(s.append_block, s.reps)),  # 0.1 s a pair: fsync noise wants many
        ("sealing", lambda: sealing.sealing_figures(s.append_block, s.reps)),
        ("corpus", lambda: bulk.corpus_figures(s.corpus_events, s.corpus_per_run, s.corpus_reps)),
        ("validate", lambda: [bulk.validate_figure(s.playbooks, max(1, s.reps // 3))]),
        ("simulate", lambda: [inproc.simulate_figure(s.sim_block, max(3, s.reps // 3))]),
        ("forecast", lambda: [forecast.forecast_figure(s.forecast_runs, s.reps)]),
        ("team store", lambda: team.team_figures(s.team_reps, s.team_block, s.team_samples, s.team_lease)),
    ]
    for runs in s.conductor_runs:
        steps.append((f"conductor {runs}", lambda runs=runs: conduct.conductor_figures(runs, s.speed)))  # type: ignore[misc]
    return steps


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repetitions (a smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    compile_sources()
    started = time.perf_counter()
    figures: list[Figure] = []
    for label, step in plan(sizes):
        step_start = time.perf_counter()
        figures.extend(step())
        if not args.json:
            print(f"[{label}: {time.perf_counter() - step_start:.1f} s]", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    if args.json:
        document = {
            "quick": args.quick,
            "machine": machine(),
            "elapsed_s": round(elapsed, 1),
            "figures": [f.as_json(judged=not args.quick) for f in figures],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        m = machine()
        print(
            f"drillkit benchmarks ({'quick' if args.quick else 'full'}), "
            f"Python {m['python']}, {m['cpus']} CPUs, {m['platform']}"
        )
        print(table(figures, judged=not args.quick))
        print(f"\n{_verdict(figures, args.quick)}; {elapsed:.0f} s in all")
    return 0


def _verdict(figures: list[Figure], quick: bool) -> str:
    if quick:
        return "quick run: tiny sizes, budgets not judged"
    held = [f for f in figures if f.holds is not None]
    return f"{sum(bool(f.holds) for f in held)} of {len(held)} budgets hold"


if __name__ == "__main__":
    sys.exit(main())
