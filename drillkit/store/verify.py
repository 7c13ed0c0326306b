"""Verifying records (SPEC §4): every line's hash, the chain of `prev`, `seq` counting up.

A line is split at its last `,"hash":"`; the bytes before are hashed (HMAC with the workspace
key when the record's first line says `chain: hmac-sha256`) and compared. A torn last line
(no newline yet) is not an event: it is reported, and set aside by the next append.

In a workspace with a key, an intact record chained without it is `unkeyed`: anyone can rewrite
a plain SHA-256 chain and recompute it, so it proves nothing there, unless a reviewer accepts it
as older than the key (`accepted`).

The corrective actions' ledger (SPEC §10) is checked by the same loop, without a run's rules;
its lines name no chain, so its first line's hash tells it, and it is `unkeyed` as a run is.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

from drillkit.model.errors import NotFound, UsageError
from drillkit.model.events import AFTER_END, EventType
from drillkit.store.files import GENESIS, HASH_MARK, complete_lines, hashed_with, ledger_chain
from drillkit.store.stamps import RUN_ID


@dataclass(frozen=True, kw_only=True)
class Verdict:
    run: str  # the run id, or ACTIONS for the corrective actions' ledger
    verdict: str  # ok | open | tampered | unkeyed
    events: int
    head: str | None
    line: int | None = None
    problem: str | None = None
    torn_bytes: int = 0
    chain: str | None = None  # how an intact record is chained: `sha256` or `hmac-sha256`

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "verdict": self.verdict,
            "events": self.events,
            "head": self.head,
            "line": self.line,
            "problem": self.problem,
            "torn_bytes": self.torn_bytes,
            "chain": self.chain,
        }


_STARTED, _ENDED = EventType.RUN_STARTED, EventType.RUN_ENDED  # bound once: checked on every line
ACTIONS = "actions"  # how `drill verify` names the corrective actions' ledger: no run id can be


class _Bad(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def verify_file(path: Path, key: bytes | None, accepted: frozenset[str] = frozenset()) -> Verdict:
    """The record's verdict; `accepted`: runs whose plain chain a reviewer accepts in a keyed workspace."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return verify_lines(path.name.removesuffix(".jsonl"), data, key, accepted)


def verify_lines(run: str, data: bytes, key: bytes | None, accepted: frozenset[str] = frozenset()) -> Verdict:
    """The verdict on a record's bytes (a torn tail, bytes after the last newline, is counted)."""
    lines, torn = complete_lines(data)
    try:
        if not lines:
            raise _Bad(1, "the record is empty")
        chain_key = _chain_key(run, lines[0], key)
        head, ended = _walk(run, lines, chain_key)
    except _Bad as bad:
        return _tampered(run, lines, bad, torn)
    weak = key is not None and chain_key is None and run not in accepted
    return Verdict(
        run=run,
        verdict="unkeyed" if weak else "ok" if ended else "open",
        events=len(lines),
        head=head,
        torn_bytes=torn,
        chain="sha256" if chain_key is None else "hmac-sha256",
    )


def verify_ledger_lines(data: bytes, key: bytes | None, accepted: bool = False) -> Verdict:
    """The verdict on the corrective actions' ledger (SPEC §10), named `actions`: §4's checks of
    every line's hash, `prev` and `seq`, without the rules of a run's events. Its lines name no
    chain: the first line's hash, plain SHA-256 or HMAC with `key`, tells the ledger's, and every
    line must keep it. In a workspace with a key, a plain ledger is `unkeyed` unless `accepted`
    (as older than the key); it never ends, so it is otherwise `ok` or `tampered`, and a torn
    tail is counted as in a run's record."""
    lines, torn = complete_lines(data)
    chain_key = ledger_chain(lines[0] if lines else None, key)
    try:
        head, _ = _walk(None, lines, chain_key)
    except _Bad as bad:
        return _tampered(ACTIONS, lines, _said_precisely(bad, lines[bad.line - 1], key, chain_key), torn)
    weak = key is not None and chain_key is None and not accepted
    return Verdict(
        run=ACTIONS,
        verdict="unkeyed" if weak else "ok",
        events=len(lines),
        head=head if lines else None,
        torn_bytes=torn,
        chain="sha256" if chain_key is None else "hmac-sha256",
    )


def _said_precisely(bad: _Bad, line: bytes, key: bytes | None, chain_key: bytes | None) -> _Bad:
    """A failed hash in the actions' ledger, named more precisely when the line is hashed with the
    other chain (spliced in), or when a first line checked without a key may be keyed."""
    if not bad.problem.startswith("hash check"):
        return bad
    if key is None:
        hint = "if the ledger is HMAC-chained, set [integrity] key_file in drill.toml to verify it"
        return _Bad(bad.line, f"{bad.problem}; {hint}") if bad.line == 1 else bad
    if chain_key is None:
        other, said = key, "HMAC, the ledger with plain SHA-256"
    else:
        other, said = None, "plain SHA-256, the ledger with the workspace key"
    return _Bad(bad.line, f"{bad.problem} (the line is chained with {said})") if hashed_with(line, other) else bad


def _tampered(name: str, lines: list[bytes], bad: _Bad, torn: int) -> Verdict:
    return Verdict(
        run=name, verdict="tampered", events=len(lines), head=None, line=bad.line, problem=bad.problem, torn_bytes=torn
    )


def _walk(run: str | None, lines: list[bytes], chain_key: bytes | None) -> tuple[str, bool]:
    """Every check on every line, in one tight loop: verify reads gigabytes. The head, and whether
    the run has ended; a run's own rules (`_check_event`) only when `run` is named."""
    digest = _digester(chain_key)
    prev, ended = GENESIS, False
    for number, line in enumerate(lines, start=1):
        cut = line.rfind(HASH_MARK)
        if cut < 0 or line[-2:] != b'"}' or line[cut + len(HASH_MARK) : -2] != digest(line[:cut]):
            raise _Bad(number, "hash check failed: the line's bytes do not match its hash")
        event = _event(number, line)
        if event.get("prev") != prev or event.get("seq") != number:
            raise _misplaced(number, event, prev)
        if run is not None and (ended or number == 1 or event.get("event") == _ENDED or event.get("run") != run):
            ended = _check_event(run, number, event, prev, ended)  # the few lines the rules concern
        prev = event["hash"]
    return prev, ended


def _misplaced(number: int, event: dict[str, Any], prev: str) -> _Bad:
    if event.get("prev") != prev:
        return _Bad(number, "chain check failed: prev is not the previous line's hash")
    return _Bad(number, f"seq check failed: seq is {event.get('seq')!r}, expected {number}")


def _digester(key: bytes | None) -> Callable[[bytes], bytes]:
    if key is None:
        return lambda body: hashlib.sha256(body).hexdigest().encode()
    return lambda body: hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def _event(number: int, line: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _Bad(number, "the line is not valid JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("hash"), str):
        raise _Bad(number, "the line is not one JSON object ending in its hash")
    return event


def _check_event(run: str, number: int, event: dict[str, Any], prev: str, ended: bool) -> bool:
    """The record-level rules; whether the run has ended after this event."""
    kind = event.get("event")
    if number == 1 and kind != _STARTED:
        raise _Bad(1, "the first event is not run.started")
    if event.get("run") != run:
        raise _Bad(number, f"run is {event.get('run')!r}, not {run!r}")
    if ended and kind not in AFTER_END:
        raise _Bad(number, f"{kind} follows run.ended (only {', '.join(sorted(AFTER_END))} may)")
    if kind == _ENDED:
        if event.get("events") != number or event.get("head") != prev:
            raise _Bad(number, "run.ended does not match the record (events or head)")
        return True
    return ended


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


PARALLEL_FROM = 16 * 1024 * 1024  # bytes: below this, starting worker processes costs more than it saves


def verify_files(
    paths: list[Path], key: bytes | None, accepted: frozenset[str] = frozenset()
) -> tuple[list[Verdict], list[str]]:
    """Many records, spread over the machine's cores when there is enough to read: a verdict for
    each record read, and why for each that could not be (no verdict: the check was not made).
    A run named that does not exist is an error before any is verified."""
    workers = min(len(paths), os.cpu_count() or 1)
    if sum(_size(p) for p in paths) < PARALLEL_FROM or workers < 2:
        checked = [_checked(path, key, accepted) for path in paths]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            chunks = max(1, len(paths) // (workers * 4))
            checked = list(pool.map(_checked, paths, repeat(key), repeat(accepted), chunksize=chunks))
    return [c for c in checked if isinstance(c, Verdict)], [c for c in checked if isinstance(c, str)]


def _checked(path: Path, key: bytes | None, accepted: frozenset[str]) -> Verdict | str:
    try:
        return verify_file(path, key, accepted)
    except UsageError as unreadable:
        return str(unreadable)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise NotFound(f"no run {path.stem!r} (see `drill runs`)") from None
    except OSError:
        return 0  # `verify_file` says why it cannot be read


def _unreadable(path: Path, exc: OSError) -> UsageError:
    """A record that cannot be read is not evidence of tampering: the check cannot be made."""
    return UsageError(f"cannot verify {path}: {exc.strerror}; no verdict is given without reading it")


def runs_to_verify(runs_dir: Path, ids: list[str]) -> list[Path]:
    if ids:
        return [runs_dir / f"{run}.jsonl" for run in ids]
    try:
        names = os.listdir(runs_dir)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _unreadable(runs_dir, exc) from None
    return sorted(runs_dir / name for name in names if name.endswith(".jsonl") and RUN_ID.fullmatch(name[:-6]))
