"""Verifying records (SPEC §4): every line's hash, the chain of `prev`, `seq` counting up.

A line is split at its last `,"hash":"`; the bytes before are hashed (HMAC with the workspace
key when the record's first line says `chain: hmac-sha256`) and compared. A torn last line
(no newline yet) is not an event: it is reported, and set aside by the next append.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from drillkit.errors import UsageError
from drillkit.record import AFTER_END, GENESIS, HASH_MARK, RUN_ID, line_hash

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, kw_only=True)
class Verdict:
    run: str
    verdict: str  # ok | open | tampered
    events: int
    head: str | None
    line: int | None = None
    problem: str | None = None
    torn_bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "verdict": self.verdict,
            "events": self.events,
            "head": self.head,
            "line": self.line,
            "problem": self.problem,
            "torn_bytes": self.torn_bytes,
        }


class _Bad(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def verify_file(path: Path, key: bytes | None) -> Verdict:
    run = path.name.removesuffix(".jsonl")
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    lines = data[:end].split(b"\n")[:-1]
    try:
        head, ended = _walk(run, lines, key)
    except _Bad as bad:
        return Verdict(
            run=run,
            verdict="tampered",
            events=len(lines),
            head=None,
            line=bad.line,
            problem=bad.problem,
            torn_bytes=len(data) - end,
        )
    return Verdict(run=run, verdict="ok" if ended else "open", events=len(lines), head=head, torn_bytes=len(data) - end)


def _walk(run: str, lines: list[bytes], key: bytes | None) -> tuple[str | None, bool]:
    prev, ended = GENESIS, False
    if not lines:
        raise _Bad(1, "the record is empty")
    chain_key = _chain_key(run, lines[0], key)
    for number, line in enumerate(lines, start=1):
        event = _check_line(number, line, prev, chain_key)
        if number == 1 and event.get("event") != "run.started":
            raise _Bad(1, "the first event is not run.started")
        if event.get("run") != run:
            raise _Bad(number, f"run is {event.get('run')!r}, not {run!r}")
        if ended and event.get("event") not in AFTER_END:
            raise _Bad(number, f"{event.get('event')} follows run.ended (only notification outcomes may)")
        if event.get("event") == "run.ended":
            if event.get("events") != number or event.get("head") != prev:
                raise _Bad(number, "run.ended does not match the record (events or head)")
            ended = True
        prev = event["hash"]
    return prev, ended


def _check_line(number: int, line: bytes, prev: str, key: bytes | None) -> dict[str, Any]:
    cut = line.rfind(HASH_MARK)
    if cut < 0 or not line.endswith(b'"}'):
        raise _Bad(number, 'hash check failed: no trailing "hash" member')
    body, stored = line[:cut], line[cut + len(HASH_MARK) : -2].decode("ascii", "replace")
    if len(stored) != 64 or not set(stored) <= _HEX or stored != line_hash(body, key):
        raise _Bad(number, "hash check failed: the line's bytes do not match its hash")
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _Bad(number, "the line is not valid JSON") from None
    if not isinstance(event, dict) or event.get("hash") != stored:
        raise _Bad(number, "the line is not one JSON object ending in its hash")
    if event.get("prev") != prev:
        raise _Bad(number, "chain check failed: prev is not the previous line's hash")
    if event.get("seq") != number:
        raise _Bad(number, f"seq check failed: seq is {event.get('seq')!r}, expected {number}")
    return event


def _chain_key(run: str, first_line: bytes, key: bytes | None) -> bytes | None:
    """The key to check with, chosen by the first line's `chain` (the hash check follows)."""
    try:
        first = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(first, dict) and first.get("chain") == "hmac-sha256":
        if key is None:
            raise UsageError(f"{run}: the record is HMAC-chained; set [integrity] key_file in drill.toml to verify it")
        return key
    return None


def runs_to_verify(runs_dir: Path, ids: list[str]) -> list[Path]:
    if ids:
        return [runs_dir / f"{run}.jsonl" for run in ids]
    return sorted(p for p in runs_dir.glob("*.jsonl") if RUN_ID.match(p.stem)) if runs_dir.is_dir() else []
