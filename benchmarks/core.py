"""What every figure shares: budgets, alternating timers, medians, subprocess timing, the table."""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class Budget:
    """`ratio`: value/floor compared with `limit`; `absolute`: the value itself is; `above`:
    what the value adds to the floor (value − floor)."""

    op: str  # "<=" or ">="
    limit: float
    kind: str = "ratio"
    unit: str = ""

    def holds(self, value: float, floor: float) -> bool:
        seen = {"ratio": value / floor, "above": value - floor}.get(self.kind, value)
        return seen <= self.limit if self.op == "<=" else seen >= self.limit

    def text(self) -> str:
        sign = "≤" if self.op == "<=" else "≥"
        if self.kind == "ratio":
            return f"{sign} {self.limit:g}×"
        if self.kind == "above":
            return f"{sign} +{self.limit * 1000:g} ms" if self.unit == "s" else f"{sign} +{self.limit:g} {self.unit}"
        return f"{sign} {self.limit:g} {self.unit}".rstrip()


@dataclass
class Figure:
    name: str
    unit: str
    value: float | None
    floor: float | None
    floor_name: str
    budget: Budget | None
    samples: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    @property
    def holds(self) -> bool | None:
        if self.budget is None or self.value is None or not self.floor:
            return None
        return self.budget.holds(self.value, self.floor)

    def as_json(self, judged: bool = True) -> dict[str, Any]:
        """`judged` False (a quick run's tiny sizes): `holds` is null, no verdict is given."""
        return {
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "floor": self.floor,
            "floor_name": self.floor_name,
            "ratio": self.ratio,
            "budget": self.budget.text() if self.budget else None,
            "holds": self.holds if judged else None,
            "samples": self.samples,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass
class Paired:
    """Medians of both sides of an alternated measurement, wall and (for processes) CPU."""

    a: float
    b: float
    cpu_a: float | None = None
    cpu_b: float | None = None

    def cpu_note(self) -> str:
        if not self.cpu_a or not self.cpu_b:
            return ""
        return f"CPU {self.cpu_a * 1000:.0f} ms vs {self.cpu_b * 1000:.0f} ms ({self.cpu_a / self.cpu_b:.2f}×)"


def alternate(a: Callable[[], float], b: Callable[[], float], reps: int, warmup: int = 1) -> Paired:
    """Medians of `reps` runs of each side, run A B A B … after `warmup` unrecorded pairs."""
    for _ in range(warmup):
        a()
        b()
    left: list[float] = []
    right: list[float] = []
    cpu_left: list[float] = []
    cpu_right: list[float] = []
    for _ in range(reps):
        mark = len(CPU)
        left.append(a())
        cpu_left.extend(CPU[mark:])
        mark = len(CPU)
        right.append(b())
        cpu_right.extend(CPU[mark:])
    paired = Paired(statistics.median(left), statistics.median(right))
    if cpu_left and cpu_right:
        paired.cpu_a, paired.cpu_b = statistics.median(cpu_left), statistics.median(cpu_right)
    return paired


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_DRILL_", "_FLOOR_", "COMP_"))}
    env.update({"NO_COLOR": "1", "DRILL_USER": "bob"})
    env.pop("DRILL_FAKE_NOW", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # any value, "0" too, would keep drill compiling its source
    env.update(extra or {})
    return env


def compile_sources() -> None:
    """drillkit's and the floors' byte code written before anything is timed: a fresh checkout (or
    a shell with PYTHONDONTWRITEBYTECODE set) would otherwise time the compiler in every process."""
    for folder in (REPO / "drillkit", HERE):
        compileall.compile_dir(folder, quiet=1)


def drill_argv() -> list[str]:
    """The installed `drill` console script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("drill")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'drill'; from drillkit.cli.main import run; run()"]


def script_argv(name: str) -> list[str]:
    """A standalone script of this folder, run by the same interpreter."""
    return [sys.executable, str(HERE / name)]


CPU: list[float] = []  # CPU seconds (user+sys) of each process run_timed ran, in order


def run_timed(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, ok: Sequence[int] = (0,), cwd: Path | None = None
) -> float:
    """Wall seconds of one process (its CPU seconds go to `CPU`); a wrong exit code fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=dict(env or child_env()), capture_output=True, cwd=cwd, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode not in ok:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(argv[:4])}…: exit {done.returncode}: {' | '.join(tail)}")
    return elapsed


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.2f} s"
    if unit == "/s" and value >= 100:
        return f"{value:,.0f} /s"
    places = {"ms": 2, "MB": 1, "MB/s": 1, "/s": 1}.get(unit)
    return f"{value:.{places}f} {unit}" if places is not None else f"{value:g} {unit}"


def table(figures: Sequence[Figure], judged: bool = True) -> str:
    """The figures as a text table; `judged` False leaves the holds column blank (a quick run)."""
    rows = [("figure", "value", "floor", "ratio", "budget", "holds")]
    for f in figures:
        floor = f"{fmt(f.floor, f.unit)} ({f.floor_name})" if f.floor is not None else f"n/a ({f.floor_name})"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "n/a"
        holds = {True: "yes", False: "NO", None: "n/a"}[f.holds] if judged else "-"
        rows.append((f.name, fmt(f.value, f.unit), floor, ratio, f.budget.text() if f.budget else "-", holds))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))
