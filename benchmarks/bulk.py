"""Figures over many files: `drill report` and `drill verify --all` over a generated corpus of
records, `drill validate` over many playbooks; floors parse, hash or load the same files."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
from pathlib import Path

from benchmarks.core import Budget, Figure, alternate, child_env, drill_argv, run_timed, script_argv
from benchmarks.corpus import ensure_corpus
from benchmarks.workspaces import many_playbooks, scratch


def corpus_figures(events: int, per_run: int, reps: int) -> list[Figure]:
    root, made = ensure_corpus(events, per_run)
    runs = root / "logs" / "runs"
    size = sum(p.stat().st_size for p in runs.glob("*.jsonl"))
    note = f"corpus of {events:,} events in {events // per_run:,} runs ({size / 1e6:.0f} MB)"
    note += ", generated now" if made else ""
    return [*_report(root, reps, note), _verify(root, size, reps, note), _sealed_verify(root, size, reps, note)]


def _report(root: Path, reps: int, note: str) -> list[Figure]:
    drill = drill_argv()
    floor = [*script_argv("floors.py"), "orjson", str(root / "logs" / "runs")]
    if not report_available():
        why = "n/a: this build of drill has no `report` command"
        return [
            Figure("drill report, 1M events (first)", "s", None, None, "orjson parse", Budget("<=", 2.0), 0, why),
            Figure("drill report repeated (unchanged)", "s", None, None, "first report", Budget("<=", 0.1), 0, why),
        ]
    first: list[float] = []
    again: list[float] = []
    parse: list[float] = []
    run_timed(floor)  # warms the page cache for both sides
    for _ in range(reps):
        fresh = _linked_copy(root)
        try:
            argv = [*drill, "--workspace", str(fresh), "report", "--format", "json"]
            first.append(run_timed(argv))
            again.append(run_timed(argv))
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        parse.append(run_timed(floor))
    cold, warm, floor_s = statistics.median(first), statistics.median(again), statistics.median(parse)
    label = f"drill report, {_short(note)} (first)"
    return [
        Figure(label, "s", cold, floor_s, "orjson parse", Budget("<=", 2.0), reps, note),
        Figure("drill report repeated (unchanged)", "s", warm, cold, "first report", Budget("<=", 0.1), reps),
    ]


def _verify(root: Path, size: int, reps: int, note: str) -> Figure:
    drill = [*drill_argv(), "--workspace", str(root), "verify", "--all"]
    floor = [*script_argv("floors.py"), "sha256", str(root / "logs" / "runs")]
    p = alternate(lambda: run_timed(drill), lambda: run_timed(floor), reps)
    mb = size / 1e6
    return Figure(
        "drill verify --all throughput",
        "MB/s",
        mb / p.a,
        mb / p.b,
        "sha256 of every line",
        Budget(">=", 0.5),
        reps,
        f"same corpus as the report; {p.a:.2f} s vs {p.b:.2f} s; {p.cpu_note()}",
    )


def _sealed_verify(root: Path, size: int, reps: int, note: str) -> Figure:
    """`drill verify --all` where every run is sealed (SPEC §9): the chain, the seals and the ledger."""
    sealed = _linked_copy(root)
    try:
        for args in (["keys", "init"], ["keys", "seal", "--all"]):
            subprocess.run(
                [*drill_argv(), "--workspace", str(sealed), *args], env=child_env(), check=True, capture_output=True
            )
        drill = [*drill_argv(), "--workspace", str(sealed), "verify", "--all", "--strict"]
        floor = [*script_argv("floors.py"), "sha256", str(sealed / "logs" / "runs")]
        p = alternate(lambda: run_timed(drill), lambda: run_timed(floor), reps)
    finally:
        shutil.rmtree(sealed, ignore_errors=True)
    mb = size / 1e6
    return Figure(
        "drill verify --all throughput, every run sealed",
        "MB/s",
        mb / p.a,
        mb / p.b,
        "sha256 of every line",
        Budget(">=", 0.5),
        reps,
        f"same corpus, sealed; {p.a:.2f} s vs {p.b:.2f} s; {p.cpu_note()}",
    )


def validate_figure(count: int, reps: int) -> Figure:
    root = many_playbooks(count)
    drill = [*drill_argv(), "--workspace", str(root), "validate"]
    floor = [*script_argv("floors.py"), "yaml", str(root / "playbooks")]
    try:
        p = alternate(lambda: run_timed(drill), lambda: run_timed(floor), reps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Figure(
        f"drill validate, {count:,} playbooks", "s", p.a, p.b, "yaml.CSafeLoader", Budget("<=", 1.5), reps, p.cpu_note()
    )


def report_available() -> bool:
    done = subprocess.run([*drill_argv(), "report", "--help"], env=child_env(), capture_output=True, check=False)
    return done.returncode == 0


def _linked_copy(root: Path) -> Path:
    """A fresh workspace whose records are hard links to the corpus (no report cache yet)."""
    fresh = scratch("report")
    shutil.copytree(root / "playbooks", fresh / "playbooks")
    runs = fresh / "logs" / "runs"
    runs.mkdir(parents=True)
    for path in (root / "logs" / "runs").glob("*.jsonl"):
        try:
            os.link(path, runs / path.name)
        except OSError:
            shutil.copyfile(path, runs / path.name)
    return fresh


def _short(note: str) -> str:
    return note.split(" in ", 1)[0].removeprefix("corpus of ")
