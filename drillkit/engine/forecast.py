"""Monte Carlo forecast of a plan's odds from its own history (SPEC §11, `drill forecast`).

The model: a run is a walk through the playbook's states. Each stay in a state is drawn whole
from the stays recorded in that state by past runs (its length, the state it left for, and
whether the system left it by an `on_deadline` trigger), so the branch taken keeps its link to
how long the stay took. Stays are independent of each other and of the severity of the past run
they came from. A checklist item is done at the same offset from the first entry into the state
that lists it as in a past run that entered that state (never, when that run never did it).
A state or item the history never saw, or a plan with no history at all, takes the plan's own
deadline as its only knowledge: the stay lasts exactly its deadline (no time without one) and
leaves by the first transition listed from it; an item is done when its state's deadline runs out.

The plan's deadlines then apply to every drawn stay: a stay longer than its state's deadline is
a breach of the state's owner, and where the state has `on_deadline` the system fires it at the
deadline (a stay the system cut short in the past is cut short at the deadline again), or, when
its transition requires checklist items, once the past run had done them, if that is later and
within the stay (the engine's rule, `replay.escalation_fires`). A metric is met when its `to` is
reached within its target of its `from`; missing it is a breach of the metric's owner.

Uncertainty: the simulated runs are split into B bootstrap replicates. Each replicate draws its
stays from a resample (with replacement, whole runs at a time) of the past runs, so the spread
of the replicates' shares is the 95% interval and a thin history shows as a wide interval.
The point estimate is the share over all simulated runs. Breaches of state deadlines are
expected counts, worked out rather than counted: the stays a run is expected to make in each
state, moving as the replicate's resampled stays there lead (within the walk's limit on stays),
times the share of those stays that are late. That is what counting the simulated runs' late
stays would tend to, without their sampling noise. An escalation's odds are worked out so too:
the stays a run is expected to make in the state before the first one that fires, times the
share that fire, the chance that a run escalates at all (a run that comes back and fires again
is one run that escalated).

Every random number comes from one `numpy.random.Generator` seeded by the caller, drawn in a
fixed order, and a what-if is simulated from the same seed (common random numbers): the same
seed gives the same answer, and a change shows its own effect, not sampling noise.

This is the only module that imports numpy (an import-linter contract says so): every other
command stays as quick to start as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from drillkit.model.durations import parse_span
from drillkit.model.errors import UsageError
from drillkit.model.plans import Playbook, for_severity

ENOUGH = 10  # past runs at the forecast's severity before other severities are no longer needed
REPLICATES = 200  # bootstrap replicates the simulated runs are split into
MAX_HOPS_PER_STATE = 8  # a simulated run still going after this many stays per state is left unfinished
CHUNK = 16_384  # numbers one step of laying out the segments works on, so that they stay in cache
DIGITS = 4  # probabilities and expectations are rounded to this many places in the answer
BARS = 24  # at most this many bars in a metric's distribution (`drill forecast --format html`)
BAR_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)  # bar widths

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Stay:
    """One finished stay of a past run: its state, length (drill seconds) and where it went."""

    state: str
    seconds: float
    to: str
    by_system: bool  # left by an `on_deadline` trigger


@dataclass(frozen=True)
class PastRun:
    """What the forecast needs of one past run that reached a final state."""

    severity: str
    stays: tuple[Stay, ...]
    checks: Mapping[str, float] = field(default_factory=dict)  # item → drill time first done


@dataclass(frozen=True)
class WhatIf:
    """Proposed changes: state → deadline, metric → target (seconds)."""

    deadlines: Mapping[str, int] = field(default_factory=dict)
    targets: Mapping[str, int] = field(default_factory=dict)

    def changes(self) -> dict[str, int]:
        return {
            **{f"deadline.{k}": v for k, v in self.deadlines.items()},
            **{f"target.{k}": v for k, v in self.targets.items()},
        }


@dataclass(frozen=True)
class Basis:
    """Which past runs the answer rests on: `severity` (runs at the asked severity),
    `all-severities` (too few at it, so every severity) or `deadlines` (none at all)."""

    kind: str
    runs: tuple[PastRun, ...]


def parse_what_if(pairs: Sequence[str], pb: Playbook) -> WhatIf:
    """`deadline.STATE=20m` and `target.METRIC=30m` pairs, each naming something the playbook has,
    each at most once (a second value for the same key would silently replace the first)."""
    deadlines: dict[str, int] = {}
    targets: dict[str, int] = {}
    given: dict[str, str] = {}
    for pair in pairs:
        kind, name, seconds = _change(pair, pb)
        key = f"{kind}.{name}"
        if key in given:
            raise UsageError(f"--what-if {pair!r}: {key} is already given ({given[key]!r}); give each key once")
        given[key] = pair
        (deadlines if kind == "deadline" else targets)[name] = seconds
    return WhatIf(deadlines, targets)


def _change(pair: str, pb: Playbook) -> tuple[str, str, int]:
    """One `deadline.STATE=DURATION` or `target.METRIC=DURATION`: its kind, name and seconds."""
    key, sep, value = pair.partition("=")
    kind, dot, name = key.partition(".")
    known: list[str] | None = {"deadline": list(pb.states), "target": list(pb.metrics)}.get(kind)
    if not sep or not dot or known is None:
        raise UsageError(
            f"--what-if {pair!r}: write deadline.STATE=DURATION or target.METRIC=DURATION, e.g. deadline.triage=20m"
        )
    if name not in known:
        what = "state" if kind == "deadline" else "metric"
        raise UsageError(f"--what-if {pair!r}: no {what} {name!r}; known: {', '.join(known)}")
    if kind == "deadline" and pb.states[name].final:
        timed = ", ".join(state for state in pb.states if not pb.states[state].final)
        raise UsageError(f"--what-if {pair!r}: {name} is a final state, where no deadline runs; states: {timed}")
    try:
        return kind, name, parse_span(value)
    except ValueError as err:
        raise UsageError(f"--what-if {pair!r}: {err}") from None


def choose_basis(history: Sequence[PastRun], severity: str) -> Basis:
    """The runs at `severity` when there are enough of them, else every run, else none."""
    same = tuple(run for run in history if run.severity == severity)
    if len(same) >= ENOUGH or (same and len(same) == len(history)):
        return Basis("severity", same)
    if history:
        return Basis("all-severities", tuple(history))
    return Basis("deadlines", ())


def forecast(  # the question's parts, each named by the caller
    pb: Playbook,
    severity: str,
    basis: Basis,
    *,
    runs: int,
    seed: int,
    what_if: WhatIf | None = None,
    distributions: bool = False,
) -> dict[str, Any]:
    """The answer for the plan as it is and, with `what_if`, for the plan so changed; with
    `distributions`, each metric row also tells how its simulated values spread."""
    if runs < 1:
        raise UsageError(f"--runs {runs}: must be at least 1")
    history = _History(pb, basis.runs)
    plans = {"plan": _Plan(pb, severity, WhatIf())}
    if what_if is not None:
        plans["what_if"] = _Plan(pb, severity, what_if)
    answer, values = {}, {}
    for block, plan in plans.items():
        answer[block], values[block] = _simulate(history, plan, runs, seed)
    if distributions:
        _add_distributions(answer, values)
    return answer


class _Plan:
    """The playbook's numbers at one severity, with a what-if's changes applied."""

    def __init__(self, pb: Playbook, severity: str, what_if: WhatIf) -> None:
        self.pb = pb
        self.states = list(pb.states)
        self.index = {name: i for i, name in enumerate(self.states)}
        self.deadline = {
            name: _seconds(what_if.deadlines.get(name, pb.deadline(name, severity))) for name in self.states
        }
        self.target = {name: _target(what_if.targets.get(name), pb, name, severity) for name in pb.metrics}
        self.escalation = {name: pb.escalation(name) for name in self.states}
        self.roles: list[str | None] = [*pb.roles, None]

    def default_next(self, state: str) -> str:
        """Where a stay known only by its deadline goes: the first transition listed from it that
        is not the `on_deadline` one, else that one."""
        leaving = [t for t in self.pb.transitions if state in t.source and t.to != state]
        chosen = [t for t in leaving if t.trigger != self.pb.states[state].on_deadline] or leaving
        return chosen[0].to

    def role(self, role: str | None) -> int:
        return self.roles.index(role)


def _seconds(value: int | None) -> float:
    """A deadline in seconds; none is no limit."""
    return np.inf if value is None else float(value)


def _target(changed: int | None, pb: Playbook, metric: str, severity: str) -> float | None:
    if changed is not None:
        return float(changed)
    target = for_severity(pb.metrics[metric].target, severity)
    return None if target is None else float(target)


class _History:
    """The past runs as arrays: each state's stays and each item's offsets, tagged by run."""

    def __init__(self, pb: Playbook, runs: Sequence[PastRun]) -> None:
        self.count = len(runs)
        index = {name: number for number, name in enumerate(pb.states)}
        found: list[list[tuple[int, float, int, bool, float]]] = [[] for _ in index]
        firsts = []  # per run, when it first entered each state it entered (drill seconds)
        required = {name: e.requires for name in pb.states if (e := pb.escalation(name)) is not None and e.requires}
        for number, run in enumerate(runs):
            first, clock = ({run.stays[0].state: 0.0} if run.stays else {}), 0.0
            for stay in run.stays:
                state, to = index.get(stay.state), index.get(stay.to)
                if state is not None and to is not None:
                    held = required.get(stay.state)
                    allowed = _allowed_after(held, stay, run.checks, clock) if held else 0.0
                    found[state].append((number, stay.seconds, to, stay.by_system, allowed))
                clock += stay.seconds
                first.setdefault(stay.to, clock)
            firsts.append(first)
        self.stays: dict[str, tuple[Ints, Floats, Ints, Bools, Floats]] = {}
        for name, rows in zip(index, found, strict=True):
            numbers, seconds, nexts, by_system, after = zip(*rows, strict=True) if rows else ((), (), (), (), ())
            self.stays[name] = (
                np.array(numbers, dtype=np.int64),
                np.array(seconds, dtype=np.float64),
                np.array(nexts, dtype=np.int64),
                np.array(by_system, dtype=np.bool_),
                np.array(after, dtype=np.float64),
            )
        owners = pb.checklist_owner()
        self.items = {item: self._offsets(runs, firsts, item, owners[item]) for item in _measured_items(pb)}

    @staticmethod
    def _offsets(
        runs: Sequence[PastRun], firsts: Sequence[Mapping[str, float]], item: str, state: str
    ) -> tuple[Ints, Floats]:
        """Per run that entered `state`: when the item was done after that first entry (inf: never)."""
        numbers, offsets = [], []
        for number, (run, first) in enumerate(zip(runs, firsts, strict=True)):
            entered = first.get(state)
            if entered is not None:
                numbers.append(number)
                done = run.checks.get(item)
                offsets.append(np.inf if done is None else done - entered)
        return np.array(numbers, dtype=np.int64), np.array(offsets, dtype=np.float64)


def _allowed_after(required: Sequence[str], stay: Stay, checks: Mapping[str, float], entered: float) -> float:
    """How far into a past stay its state's `on_deadline` move was first allowed: when the last of
    the checklist items it `required` was done (0: before the stay, or none required; inf: not
    during the stay). Before then the system holds the move back however late the stay runs."""
    allowed = max([0.0, *(checks.get(item, np.inf) - entered for item in required)])
    return allowed if allowed <= stay.seconds else np.inf


def _measured_items(pb: Playbook) -> list[str]:
    """The checklist items some metric measures (`to: check:ITEM`), in checklist order."""
    measured = {m.to.partition(":")[2] for m in pb.metrics.values() if m.to.startswith("check:")}
    return [item for item in pb.checklist_owner() if item in measured]


class _Segments:
    """Pools of entries laid out for fast weighted draws per replicate.

    Pool k holds entries tagged by the past run they came from, plus a stand-in as its last entry.
    For replicate b, the segment (k, b) lists each entry as many times as its run was drawn into
    b's resample, or the stand-in alone when none was: a draw is then one uniform number u and a
    few lookups, `entries[start + floor(u * size)]`, for every simulated run at once. (u is below
    1 by at least 2**-53, so for any size below 2**53 the product rounds below size: no clamp.)
    Segments lie replicate by replicate, so runs of neighbouring replicates draw from
    neighbouring places. `size` and `start` are numbered `pool * B + replicate`."""

    def __init__(self, pools: Sequence[Ints], counts: Ints) -> None:
        replicates = counts.shape[0]
        widths = np.array([run_of.size + 1 for run_of in pools], dtype=np.int64)
        firsts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        stand_ins = firsts + widths - 1
        columns = np.concatenate([np.append(run_of, 0) for run_of in pools]).astype(np.int64)
        rows = max(1, CHUNK // columns.size)
        numbers = np.tile(np.arange(columns.size, dtype=np.int32), rows)  # each column's number, row after row
        parts, chunks = [], []
        for low in range(0, replicates, rows):  # a few replicates at a time: the work stays in cache
            weights = _weights(counts[low : low + rows], columns)
            weights[:, stand_ins] = 0
            sizes = np.add.reduceat(weights, firsts, axis=1)
            weights[:, stand_ins] = sizes == 0
            sizes[sizes == 0] = 1
            parts.append(_repeated_columns(weights, numbers))
            chunks.append(sizes)
        self.entries = np.concatenate(parts)
        sizes = np.concatenate(chunks)  # replicates × pools
        starts = np.concatenate([[0], np.cumsum(sizes.ravel())[:-1]]).astype(np.int64)
        self.size = sizes.T.ravel().astype(np.float64)
        self.start = starts.reshape(replicates, len(pools)).T.ravel()
        self.replicates, self.pools = replicates, len(pools)

    def by_replicate(self) -> _Segments:
        """The same segments numbered `replicate * pools + pool`: a run's next segment is then its
        current one plus (next pool - current pool), with no division."""
        turned = copy(self)
        turned.size = self.size.reshape(self.pools, self.replicates).T.ravel()
        turned.start = self.start.reshape(self.pools, self.replicates).T.ravel()
        return turned

    def draw(self, u: Floats, segment: Ints) -> Ints:
        """One entry (its index over all pools) per uniform number in `u`, from segment `pool * B + replicate`."""
        found: Ints = self.entries.take(self.position(u, segment)).astype(np.intp)
        return found

    def position(self, u: Floats, segment: Ints) -> Ints:
        """Where in `entries` each uniform number in `u` lands within its segment."""
        at = np.multiply(u, self.size.take(segment), out=np.empty(u.size, dtype=np.int64), casting="unsafe")
        at += self.start.take(segment)
        return at

    def grouped_position(self, u: Floats, among: slice, runs_in: Ints) -> Ints:
        """As `position`, for runs that lie grouped by replicate, `runs_in[b]` of them drawing from
        replicate b's segment of the pools in `among`: each segment's size and start repeated, a
        cheaper step than looking them up run by run."""
        size = np.repeat(self.size[among], runs_in)
        at = np.multiply(u, size, out=np.empty(u.size, dtype=np.int64), casting="unsafe")
        at += np.repeat(self.start[among], runs_in)
        return at


def _weights(counts: Ints, columns: Ints) -> Ints:
    """Per replicate (a row of `counts`), how many times each column's run is in its resample."""
    if not counts.shape[1]:
        return np.zeros((counts.shape[0], columns.size), dtype=np.int64)
    weights: Ints = counts.take(columns, axis=1)
    return weights


def _repeated_columns(weights: Ints, numbers: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Row after row, each column's number repeated as often as its weight: what
    `np.repeat(numbers[: weights.size], weights.ravel())` gives (`numbers` holds each column's
    number row after row), without its copy per element. The running sum of the weights says where
    each column's stretch ends; the number of ends at or before a place is its column's place."""
    ends = np.cumsum(weights.ravel())
    total = int(ends[-1])
    place = np.cumsum(np.bincount(ends[:-1], minlength=total + 1)[:total])
    column: npt.NDArray[np.int32] = numbers.take(place)  # 32 bits: half the bytes for the walk to read at random
    return column


def _resample_counts(rng: np.random.Generator, replicates: int, size: int) -> Ints:
    """How many times each past run is drawn into each replicate's resample."""
    if not size:
        return np.zeros((replicates, 0), dtype=np.int64)
    picks = rng.integers(0, size, (replicates, size))
    picks += np.arange(replicates)[:, np.newaxis] * size  # each replicate's runs numbered apart
    return np.bincount(picks.ravel(), minlength=replicates * size).reshape(replicates, size)


def _simulate(history: _History, plan: _Plan, runs: int, seed: int) -> tuple[dict[str, Any], dict[str, Floats]]:
    """The answer for one plan, and each metric's value in each simulated run (inf: never reached)."""
    rng = np.random.default_rng(seed)
    replicates = min(REPLICATES, runs)
    counts = _resample_counts(rng, replicates, history.count)
    replicate = np.arange(runs, dtype=np.int64) * replicates // runs  # neighbours share a replicate: cache-friendly
    stays = _Stays(history, plan, counts)
    entered = _walk(plan, stays, replicate, rng)
    done = _items(history, plan, counts=counts, replicate=replicate, rng=rng, entered=entered)
    values = {name: _value(plan, entered, done, name) for name in plan.pb.metrics}
    return _answer(plan, stays, values=values, replicate=replicate), values


class _Stays:
    """Every state's recorded stays (and its stand-in) as one table, with the plan's deadline
    already applied to each: what the stay lasts, where it goes, whether it is late or escalated."""

    def __init__(self, history: _History, plan: _Plan, counts: Ints) -> None:
        seconds, to, by_system, allowed, state_of = [], [], [], [], []
        for index, state in enumerate(plan.states):
            _run_of, recorded, goes, system, allowed_after = history.stays[state]
            stand_in = plan.deadline[state] if np.isfinite(plan.deadline[state]) else 0.0
            seconds.append(np.append(recorded, stand_in))
            to.append(np.append(goes, self._stand_in_next(plan, state)))
            by_system.append(np.append(system, False))
            allowed.append(np.append(allowed_after, 0.0))
            state_of.append(np.full(recorded.size + 1, index))
        runs_of = [history.stays[s][0] for s in plan.states]
        self.segments = _Segments(runs_of, counts)
        self.state_of = np.concatenate(state_of)
        self._apply_deadlines(
            plan,
            np.concatenate(seconds),
            np.concatenate(to).astype(np.int64),
            np.concatenate(by_system),
            np.concatenate(allowed),
        )
        leads_to = self.to[:, np.newaxis] == np.arange(len(plan.states))
        shares = self._shares(runs_of, counts, np.column_stack([self.late, self.fired, leads_to]).astype(np.float64))
        self.late_share, self.fired_share, self.moves = shares[..., 0], shares[..., 1], shares[..., 2:]
        self.owner = np.array([plan.role(plan.pb.states[s].owner) for s in plan.states], dtype=np.int64)

    def _shares(self, runs_of: Sequence[Ints], counts: Ints, flags: Floats) -> Floats:
        """Per replicate, state and column of `flags` (replicates × states × columns): the share
        of the stays a draw in that state picks from in that replicate's resample that have the
        column's flag (the stand-in's flags where the resample has none)."""
        runs, pools, columns = counts.shape[1], len(runs_of), flags.shape[1]
        flagged, present = np.zeros((runs, pools, columns)), np.zeros((runs, pools))
        first = 0
        for pool, run_of in enumerate(runs_of):
            cells = (run_of[:, np.newaxis] * columns + np.arange(columns)).ravel()  # (run, column) of each flag
            own = flags[first : first + run_of.size].ravel()
            flagged[:, pool] = np.bincount(cells, weights=own, minlength=runs * columns).reshape(runs, columns)
            present[:, pool] = np.bincount(run_of, minlength=runs)
            first += run_of.size + 1
        weights = counts.astype(np.float64)
        # a product per column: each small enough for the linear algebra library to keep to one thread
        hits = np.stack([weights @ flagged[:, :, column] for column in range(columns)], axis=-1)
        sizes = (weights @ present)[..., np.newaxis]
        stand_in = flags[np.cumsum([run_of.size + 1 for run_of in runs_of]) - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares: Floats = np.where(sizes > 0, hits / sizes, stand_in)
        return shares

    @staticmethod
    def _stand_in_next(plan: _Plan, state: str) -> int:
        """A final state is never left; its stand-in points at itself."""
        return plan.index[state if plan.pb.states[state].final else plan.default_next(state)]

    def _apply_deadlines(self, plan: _Plan, seconds: Floats, to: Ints, by_system: Bools, allowed: Floats) -> None:
        """The engine's rule (`replay.escalation_fires`): the system fires `on_deadline` at the
        deadline, or once the items its move requires are done if that is later, while the stay lasts."""
        deadline = np.array([plan.deadline[s] for s in plan.states])[self.state_of]
        escalation = np.array([-1 if e is None else plan.index[e.to] for e in plan.escalation.values()])[self.state_of]
        fires = np.maximum(deadline, allowed)
        self.late = seconds > deadline
        self.fired = (escalation >= 0) & np.isfinite(allowed) & ((seconds > fires) | by_system)
        self.late |= self.fired
        self.seconds = np.where(self.fired, fires, seconds)
        self.to = np.where(self.fired, escalation, to)


def _walk(plan: _Plan, stays: _Stays, replicate: Ints, rng: np.random.Generator) -> list[Floats]:
    """Every simulated run hop by hop, all runs at once: each hop draws one stay per unfinished
    run. Gives each run's first entry into each state (per state, inf: never). Runs lie grouped by
    replicate and stay in that order as finished ones drop out, so each hop reads the segments'
    `entries` front to back, a replicate at a time."""
    walker = _Walker(plan, stays, replicate.size)
    slots, clocks = walker.walk(replicate, rng)
    rows = np.full((walker.states, replicate.size), np.inf)
    flat = rows.reshape(-1)
    for slot, at in zip(reversed(slots), reversed(clocks), strict=True):
        flat[slot] = at  # last to first: a run's clock only grows, so its first entry stays
    entered = [rows[row] for row in walker.row]
    entered[walker.initial][:] = 0.0
    return entered


class _Walker:
    """The per-stay tables a hop looks up, both small: what a stay lasts and how it moves a run's key.

    A run's key packs two numbers that change together: its slot in `entered` (row × runs + run)
    above `shift` bits and its segment (replicate × states + state) below them. A stay from one
    state to another moves each by a fixed amount, so one addition moves the run. Final states
    have the last rows, so a run has finished when its key reaches `limit`."""

    def __init__(self, plan: _Plan, stays: _Stays, runs: int) -> None:
        final = [plan.pb.states[s].final for s in plan.states]
        self.row = np.argsort(np.argsort(final, kind="stable"))  # each state's row in `entered`: final ones last
        self.states = len(plan.states)
        self.initial = plan.index[plan.pb.initial_state]
        self.segments = stays.segments.by_replicate()
        self.shift = max(1, int(self.segments.size.size - 1).bit_length())
        self.seconds = stays.seconds
        self.step = ((self.row[stays.to] - self.row[stays.state_of]) * runs << self.shift) + stays.to - stays.state_of
        self.limit = final.count(False) * runs << self.shift  # a key this high is in a final state's row
        self.runs = runs

    def walk(self, replicate: Ints, rng: np.random.Generator) -> tuple[list[Ints], list[Floats]]:
        """Walk the runs to their ends: per hop, the slot each run entered and when."""
        slot = np.arange(replicate.size, dtype=np.int64) + int(self.row[self.initial]) * self.runs
        key = (slot << self.shift) + replicate * self.states + self.initial
        clock = np.zeros(replicate.size)
        low = (1 << self.shift) - 1
        slots, clocks = [], []
        for _hop in range(MAX_HOPS_PER_STATE * self.states):
            if key.size == 0:
                break
            segment = key & low
            stay = self.segments.draw(rng.random(key.size), segment)
            clock = clock + self.seconds.take(stay)
            key = key + self.step.take(stay)
            slots.append(key >> self.shift)
            clocks.append(clock)
            going = key < self.limit
            if not going.all():
                key, clock = key.compress(going), clock.compress(going)
        return slots, clocks


def _expected(plan: _Plan, stays: _Stays, escalated: list[tuple[str, str]]) -> tuple[Floats, Floats]:
    """Per replicate and state (replicates × states): how many stays a simulated run is expected
    to make in that state, moving as the replicate's shares of where the stays there lead say, for
    at most as many stays as the walk draws (`MAX_HOPS_PER_STATE` per state). And per replicate and
    (state, state it escalates to) of `escalated`: the chance that the system fires the state's
    `on_deadline` at least once in a run, which a playbook with cycles may enter again: the stays
    a run is expected to make there before the first one that fires (the moves of those that fire
    taken out), times the share of stays there that fire. One power sum works out both."""
    here = np.array([plan.index[state] for state, _ in escalated], dtype=np.intp)
    to = np.array([plan.index[escalation] for _, escalation in escalated], dtype=np.intp)
    fire = stays.fired_share[:, here].T  # escalated × replicates
    moves = np.repeat(_onward(plan, stays)[np.newaxis], here.size + 1, axis=0)  # as they are, then one per state
    ours = np.arange(1, here.size + 1)
    moves[ours, :, here, to] = np.maximum(moves[ours, :, here, to] - fire, 0.0)
    visits = _power_sum(moves, MAX_HOPS_PER_STATE * len(plan.states))[:, :, plan.index[plan.pb.initial_state]]
    expected = visits[0]
    expected[:, _finals(plan)] = 0.0
    odds: Floats = (visits[ours, :, here] * fire).T
    return expected, odds


def _onward(plan: _Plan, stays: _Stays) -> Floats:
    """The shares of where the stays in each state lead, with none from a final state: a run that
    reached one draws no more."""
    onward: Floats = stays.moves * ~_finals(plan)[:, np.newaxis]
    return onward


def _finals(plan: _Plan) -> Bools:
    return np.array([plan.pb.states[s].final for s in plan.states])


def _power_sum(moves: Floats, hops: int) -> Floats:
    """I + M + M² + … + M^(hops-1) for each of a stack of matrices M, by doubling."""
    identity = np.broadcast_to(np.eye(moves.shape[-1]), moves.shape)
    total, power = np.zeros(moves.shape), identity.copy()  # the sum so far, and M to its length
    block, block_power = identity.copy(), moves  # a block of 2^k terms, and M^(2^k)
    while hops:
        if hops & 1:
            total += power @ block
            power = power @ block_power
        hops >>= 1
        if hops:
            block = block + block_power @ block
            block_power = block_power @ block_power
    return total


def _items(
    history: _History, plan: _Plan, *, counts: Ints, replicate: Ints, rng: np.random.Generator, entered: list[Floats]
) -> dict[str, Floats]:
    """When each checklist item a metric measures is done in each simulated run (inf: never)."""
    owners = plan.pb.checklist_owner()
    items = _measured_items(plan.pb)
    if not items:
        return {}
    segments = _Segments([history.items[item][0] for item in items], counts)
    offsets = np.concatenate([np.append(history.items[i][1], _stand_in_offset(plan, owners[i])) for i in items])
    laid = offsets.take(segments.entries)  # each entry's offset, so that a draw reads it directly
    runs_in = np.bincount(replicate, minlength=segments.replicates)  # runs lie grouped by replicate
    done = {}
    for index, item in enumerate(items):
        own = slice(index * segments.replicates, (index + 1) * segments.replicates)  # this item's segments
        found = laid.take(segments.grouped_position(rng.random(replicate.size), own, runs_in))
        found += entered[plan.index[owners[item]]]
        done[item] = np.maximum(found, 0.0, out=found)
    return done


def _stand_in_offset(plan: _Plan, state: str) -> float:
    """An item known only by the plan is done as its state's deadline runs out."""
    deadline = plan.deadline[state]
    return deadline if np.isfinite(deadline) else 0.0


def _answer(plan: _Plan, stays: _Stays, *, values: dict[str, Floats], replicate: Ints) -> dict[str, Any]:
    sizes = np.bincount(replicate, minlength=stays.segments.replicates).astype(np.float64)
    firsts = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)  # runs are grouped by replicate
    escalated = [(state, e) for state, e in plan.escalation.items() if e is not None]
    expected, odds = _expected(plan, stays, [(state, e.to) for state, e in escalated])
    draws = expected * sizes[:, np.newaxis]
    late = (draws * stays.late_share).sum(axis=0)
    breaches = np.bincount(stays.owner, weights=late, minlength=len(plan.roles))
    metrics, hits = [], []
    for name, metric in plan.pb.metrics.items():
        target = plan.target[name]
        row: dict[str, Any] = {"name": name, "owner": metric.owner, "target": None if target is None else int(target)}
        if target is None:
            row.update(p=None, low=None, high=None)
        else:
            met = values[name] <= target  # never reached: inf, not within any target
            breaches[plan.role(metric.owner)] += replicate.size - np.count_nonzero(met)
            hits.append(np.add.reduceat(met, firsts, dtype=np.intp))
        metrics.append(row)
    hits += list((odds * sizes[:, np.newaxis]).T)
    spreads = iter(_spreads(np.array(hits, dtype=np.float64).reshape(len(hits), sizes.size), sizes))
    for row in metrics:
        if row["target"] is not None:
            row.update(next(spreads))
    escalations = [{"state": s, "trigger": e.trigger, "to": e.to, **next(spreads)} for s, e in escalated]
    return {
        "metrics": metrics,
        "breaches": [
            {"owner": role, "expected": round(float(breaches[i] / replicate.size), DIGITS)}
            for i, role in enumerate(plan.roles)
            if role is not None or breaches[i]
        ],
        "escalations": escalations,
    }


def _value(plan: _Plan, entered: list[Floats], done: dict[str, Floats], name: str) -> Floats:
    """Per simulated run: the time from the metric's `from` to its `to` (inf: either never reached)."""
    metric = plan.pb.metrics[name]
    kind, _, item = metric.to.partition(":")
    end: Floats = done[item] if kind == "check" else entered[plan.index[metric.to]]
    if metric.source in ("start", plan.pb.initial_state):  # every run enters its initial state at 0
        return end
    start = entered[plan.index[metric.source]]
    with np.errstate(invalid="ignore"):
        value: Floats = end - start
    value[np.isinf(start)] = np.inf  # rather than nan (inf - inf) or -inf
    return value


def _add_distributions(answer: dict[str, Any], values: dict[str, dict[str, Floats]]) -> None:
    """Each metric row gets its values' spread as shares of the simulated runs per bar, the bars
    `step` seconds wide from 0 (the plan and the what-if share them): `later` past the last bar,
    `never` not reached at all. The bars reach past the later target and 99% of the values."""
    blocks = list(answer)
    for index, name in enumerate(values["plan"]):
        rows = [answer[block]["metrics"][index] for block in blocks]
        finite = [values[block][name][np.isfinite(values[block][name])] for block in blocks]
        reach = max(
            [60.0]
            + [float(np.percentile(f, 99)) for f in finite if f.size]
            + [float(row["target"]) for row in rows if row["target"] is not None]
        )
        step = next((s for s in BAR_STEPS if reach / s < BARS), math.ceil(reach / BARS))
        bars = int(reach // step) + 1
        for row, found, runs in zip(rows, finite, (values[b][name].size for b in blocks), strict=True):
            counts = np.bincount(np.minimum(np.maximum(found, 0.0) // step, bars).astype(np.int64), minlength=bars + 1)
            row["distribution"] = {
                "step": step,
                "shares": [round(float(c) / runs, DIGITS) for c in counts[:bars]],
                "later": round(float(counts[bars]) / runs, DIGITS),
                "never": round(float(runs - found.size) / runs, DIGITS),
            }


def _spreads(hits: Floats, sizes: Floats) -> list[dict[str, float]]:
    """Per row of `hits` (counted per replicate): the share of simulated runs with a hit, and the
    2.5th and 97.5th percentiles of that share over the bootstrap replicates."""
    if not hits.size:
        return []
    lows, highs = np.percentile(hits / sizes, [2.5, 97.5], axis=1)
    return [
        {
            "p": round(float(row.sum() / sizes.sum()), DIGITS),
            "low": round(float(low), DIGITS),
            "high": round(float(high), DIGITS),
        }
        for row, low, high in zip(hits, lows, highs, strict=True)
    ]
