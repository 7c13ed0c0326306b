"""A corpus of run records for `drill report` and `drill verify --all`, generated once and cached.

Templates are real records: each sample scenario simulated by drillkit itself. Every generated run
is one template re-timed (its drill times scaled), re-identified, given a mode (mostly incidents),
padded with notes to the wanted length, and re-chained with SPEC §4 hashes, so every record
verifies. The corpus lives in the system temp dir, in a folder named after its parameters.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from benchmarks.core import REPO

Event = dict[str, Any]
GENERATOR = 2  # bump when the shape of generated records changes
GENESIS = "0" * 64
MARK = b',"hash":"'
SCALED = ("t", "due", "late_by")


def corpus_dir(events: int, per_run: int) -> Path:
    key = hashlib.sha256(f"{GENERATOR}:{events}:{per_run}".encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"drillkit-bench-corpus-{events}-{per_run}-{key}"


def ensure_corpus(events: int, per_run: int) -> tuple[Path, bool]:
    """The corpus workspace (generated if missing); True when it was generated now."""
    final = corpus_dir(events, per_run)
    if (final / ".complete").is_file():
        return final, False
    shutil.rmtree(final, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent))
    shutil.copytree(REPO / "playbooks", work / "playbooks")
    (work / "scenarios").mkdir()
    runs = work / "logs" / "runs"
    runs.mkdir(parents=True)
    templates = _templates()
    rng = random.Random(events * 7919 + per_run)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(max(1, events // per_run)):
        run_id, lines = _generate(i, templates[i % len(templates)], per_run, base + timedelta(minutes=97 * i), rng)
        (runs / f"{run_id}.jsonl").write_bytes(b"".join(lines))
    (work / ".complete").write_text(f"{events} events, {per_run} per run\n", encoding="utf-8")
    os.replace(work, final)
    return final, True


def _templates() -> list[list[Event]]:
    """Every sample scenario simulated by drillkit, as event lists."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import VirtualClock
    from drillkit.services.simulate import simulate

    root = Path(tempfile.mkdtemp(prefix="drillkit-bench-templates-"))
    try:
        shutil.copytree(REPO / "playbooks", root / "playbooks")
        shutil.copytree(REPO / "scenarios", root / "scenarios")
        ws = Workspace(root)
        clock = VirtualClock(datetime(2025, 1, 1, tzinfo=UTC))
        return [simulate(ws, clock, p.stem).events for p in sorted(ws.scenarios.glob("*.yaml"))]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _generate(
    index: int, template: list[Event], per_run: int, start: datetime, rng: random.Random
) -> tuple[str, list[bytes]]:
    mode = rng.choices(["incident", "drill", "simulation"], weights=[7, 2, 1])[0]
    scale = rng.uniform(0.5, 2.0)
    playbook = template[0]["playbook"]["playbook"]
    run_id = f"{start.strftime('%Y%m%dT%H%M%SZ')}-{playbook}-{index % 65536:04x}"
    body = [dict(e) for e in template if mode != "incident" or e["event"] != "inject.delivered"]
    first = body[0]
    first["mode"] = mode
    if mode == "incident":
        first["scenario"] = None
    for event in body:
        for key in SCALED:
            if isinstance(event.get(key), int | float):
                event[key] = round(event[key] * scale, 3)
    body = _padded(body, per_run, rng)
    return run_id, _chain(run_id, body, start, float(first.get("speed") or 1.0))


def _padded(body: list[Event], per_run: int, rng: random.Random) -> list[Event]:
    """Notes spread between the template's events until the run has `per_run` events."""
    people = list((body[0].get("participants") or {"lead": "alice"}).items())
    end_t = float(body[-1]["t"])
    extra = max(0, per_run - len(body))
    notes = []
    for n in range(extra):
        role, person = people[n % len(people)]
        t = round(rng.uniform(0.0, end_t), 3)
        text = f"update {n}: status from {person}"
        notes.append({"t": t, "event": "note", "actor": person, "role": role, "text": text, "req": f"{n:016x}"})
    merged = sorted(body[1:-1] + notes, key=lambda e: float(e["t"]))
    return [body[0], *merged, body[-1]]


def _chain(run_id: str, body: list[Event], start: datetime, speed: float) -> list[bytes]:
    lines: list[bytes] = []
    prev = GENESIS
    sha = hashlib.sha256
    for seq, source in enumerate(body, start=1):
        when = start + timedelta(seconds=float(source["t"]) / speed)
        ts = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        # the keys in the order drillkit's writer gives them (SPEC §4): v, seq, ts, t, run, event…
        event = {"v": 1, "seq": seq, "ts": ts, "t": source["t"], "run": run_id}
        event.update((k, v) for k, v in source.items() if k not in (*event, "hash", "prev"))
        if event["event"] == "run.ended":
            event["events"], event["head"] = seq, prev
        event["prev"] = prev
        data = orjson.dumps(event)[:-1]
        prev = sha(data).hexdigest()
        lines.append(data + MARK + prev.encode() + b'"}\n')
    return lines
