"""Figures of one command's wall time, each against a floor process timed alternately with it."""

from __future__ import annotations

import shutil
import sys

from benchmarks.core import Budget, Figure, Paired, alternate, child_env, drill_argv, run_timed, script_argv
from benchmarks.runs import make_drill, make_run
from benchmarks.workspaces import bench_workspace

FLOOR_APP = "typer floor app"
RECORD_FLOOR_APP = "typer floor app writing its line through structlog"


def startup_figures(reps: int, big: int) -> list[Figure]:
    root = bench_workspace("act")
    try:
        small_run, big_run, drill_run = make_run(root, 10), make_run(root, big), make_drill(root)
        drill, floor, record_floor = drill_argv(), script_argv("floor_app.py"), script_argv("record_floor_app.py")
        act = ["--workspace", str(root), "act"]
        tail = ["ping", "--by", "bob", "--note", "benchmark"]
        figures = [
            _figure(
                "drill act (wall)",
                alternate(
                    lambda: run_timed([*drill, *act, small_run, *tail]),
                    lambda: run_timed([*floor, *act, small_run, *tail]),
                    reps,
                ),
                FLOOR_APP,
                Budget("<=", 1.5),
                reps,
            ),
            _figure(
                "drill act over its stack (wall)",
                alternate(
                    lambda: run_timed([*drill, *act, small_run, *tail]),
                    lambda: run_timed([*record_floor, *act, small_run, *tail]),
                    reps,
                ),
                RECORD_FLOOR_APP,
                None,
                reps,
                note="context: what drill adds to typer parsing the options and structlog writing one line",
            ),
            _figure(
                "drill act on a drill (wall)",
                alternate(
                    lambda: run_timed([*drill, *act, drill_run, *tail]),
                    lambda: run_timed([*drill, *act, small_run, *tail]),
                    reps,
                ),
                "drill act on an incident",
                Budget("<=", 1.2),
                reps,
                note="a drill's record also carries its scenario, read as plain values as its playbook is",
            ),
            _figure(
                "drill --help (wall)",
                alternate(lambda: run_timed([*drill, "--help"]), lambda: run_timed([*floor, "--help"]), reps),
                FLOOR_APP + " --help",
                Budget("<=", 1.5),
                reps,
            ),
            _figure(
                "TAB completion `drill ac`",
                alternate(lambda: _complete(drill, "drill"), lambda: _complete(floor, "floor"), reps),
                FLOOR_APP + " completion",
                Budget("<=", 1.5),
                reps,
            ),
            _figure(
                f"drill act on {big:,} events",
                alternate(
                    lambda: run_timed([*drill, *act, big_run, *tail]),
                    lambda: run_timed([*drill, *act, small_run, *tail]),
                    reps,
                ),
                "drill act on 10 events",
                Budget("<=", 1.2),
                reps,
            ),
            _figure(
                "typer floor app --help",
                alternate(
                    lambda: run_timed([*floor, "--help"]), lambda: run_timed([sys.executable, "-c", "pass"]), reps
                ),
                "python -c pass",
                None,
                reps,
                note="context: the floor's own start over the interpreter's",
            ),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


def _figure(name: str, p: Paired, floor_name: str, budget: Budget | None, reps: int, *, note: str = "") -> Figure:
    cpu = p.cpu_note()
    text = "; ".join(part for part in (note, cpu) if part)
    extra = {"cpu_value": p.cpu_a, "cpu_floor": p.cpu_b} if p.cpu_a else {}
    return Figure(name, "s", p.a, p.b, floor_name, budget, reps, text, extra)


def _complete(argv: list[str], prog: str) -> float:
    """One bash TAB completion of `<prog> ac` (click's complete_bash protocol: COMP_WORDS, COMP_CWORD)."""
    env = child_env({f"_{prog.upper()}_COMPLETE": "complete_bash", "COMP_WORDS": f"{prog} ac", "COMP_CWORD": "1"})
    return run_timed(argv, env=env)
