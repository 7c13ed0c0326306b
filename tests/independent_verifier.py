"""A record verifier written from SPEC §4 alone, to check `drill verify` against.

It imports nothing from drillkit: only hashlib, hmac and json. Each complete line is split at
its last `,"hash":"`; the bytes before are hashed (HMAC-SHA256 with the key when the first line
says `"chain": "hmac-sha256"`) and compared with the stored hex; `prev` must equal the previous
line's hash (64 zeros on the first) and `seq` must count 1, 2, 3, …. Bytes after the last
newline are a torn tail: not an event, and not a reason to call the record tampered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

MARK = b',"hash":"'
GENESIS = "0" * 64
# After run.ended only these may follow (SPEC §4): notification outcomes, a repair note, the
# evaluation of a drill, and annotations.
AFTER_END = {"notify.sent", "notify.failed", "record.repaired", "observation", "feedback", "annotation"}


@dataclass(frozen=True)
class Result:
    verdict: str  # ok | open | tampered
    events: int
    line: int | None = None  # first bad line, 1-based
    check: str | None = None  # hash | chain | seq | json | ended | empty | key


def _digest(body: bytes, key: bytes | None) -> str:
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _first_chain(line: bytes) -> str | None:
    try:
        first = json.loads(line)
    except ValueError:
        return None
    return first.get("chain") if isinstance(first, dict) else None


def _event(line: bytes, key: bytes | None) -> dict[str, Any] | str:
    """The line's event if its hash holds, else the failed check's name."""
    cut = line.rfind(MARK)
    if cut < 0 or not line.endswith(b'"}'):
        return "hash"
    stored = line[cut + len(MARK) : -2]
    if not hmac.compare_digest(stored, _digest(line[:cut], key).encode()):
        return "hash"
    try:
        event = json.loads(line)
    except ValueError:
        return "json"
    if not isinstance(event, dict) or event.get("hash") != stored.decode():
        return "json"
    return event


def _problem(number: int, event: dict[str, Any], prev: str) -> str | None:
    if event.get("prev") != prev:
        return "chain"
    if event.get("seq") != number or isinstance(event.get("seq"), bool):
        return "seq"
    if event.get("event") == "run.ended" and (event.get("events") != number or event.get("head") != prev):
        return "ended"
    return None


def verify_bytes(data: bytes, key: bytes | None = None) -> Result:
    """The verdict on one record's bytes."""
    end = data.rfind(b"\n") + 1
    lines = data[:end].split(b"\n")[:-1]
    if not lines:
        return Result("tampered", 0, 1, "empty")
    hmac_chain = _first_chain(lines[0]) == "hmac-sha256"
    if hmac_chain and key is None:
        return Result("tampered", len(lines), 1, "key")
    prev, ended = GENESIS, False
    for number, line in enumerate(lines, start=1):
        event = _event(line, key if hmac_chain else None)
        if isinstance(event, str):
            return Result("tampered", len(lines), number, event)
        problem = _problem(number, event, prev)
        if problem is None and ended and event.get("event") not in AFTER_END:
            problem = "ended"
        if problem is not None:
            return Result("tampered", len(lines), number, problem)
        prev, ended = event["hash"], ended or event.get("event") == "run.ended"
    return Result("ok" if ended else "open", len(lines))
