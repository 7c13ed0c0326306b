"""A record verifier written from SPEC §4 alone, to check `drill verify` against.

It imports nothing from drillkit: only hashlib, hmac and json. Each complete line is split at
its last `,"hash":"`; the bytes before are hashed (HMAC-SHA256 with the key when the first line
says `"chain": "hmac-sha256"`) and compared with the stored hex; `prev` must equal the previous
line's hash (64 zeros on the first) and `seq` must count 1, 2, 3, …. Bytes after the last
newline are a torn tail: not an event, and not a reason to call the record tampered. Given a key,
an intact record chained without it is `unkeyed` (its chain proves nothing where a key is kept).
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
    verdict: str  # ok | open | tampered | unkeyed
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
    if key is not None and not hmac_chain:
        return Result("unkeyed", len(lines))
    return Result("ok" if ended else "open", len(lines))


# --- seals (SPEC §9) ---------------------------------------------------------------------------
# A seal is a C2SP signed note (text, blank line, `— <name> <base64(key id || Ed25519 signature)>`)
# whose text is `<origin>\nrun <id>\nevents <n>\nhead <hash>\ntime <ts>\n`; a run's seals follow each
# other in `logs/seals/<run>.seals`; the ledger `logs/seals/ledger` has a line `<run> <events>
# <sha256 of the seal note>` per seal. Ed25519 is checked with the `cryptography` package here.


def _notes(data: bytes) -> list[bytes]:
    out, note, signing = [], b"", False
    for line in data[: data.rfind(b"\n") + 1].splitlines(keepends=True):
        if signing and not line.startswith("— ".encode()):
            out.append(note)
            note, signing = b"", False
        note += line
        signing = signing or line == b"\n"
    return [*out, note] if note else out


def _signed_text(note: bytes, public_key: str) -> str | None:
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_id, encoded = public_key.split("+", 2)
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded)[1:])
    text, _, signatures = note.decode().rpartition("\n\n")
    for line in signatures.splitlines():
        signer, _, sig = line.removeprefix("— ").partition(" ")
        raw = base64.b64decode(sig)
        if signer != name or raw[:4].hex() != key_id:
            continue
        try:
            key.verify(raw[4:], (text + "\n").encode())
        except InvalidSignature:
            continue
        return text + "\n"
    return None


def verify_sealed(record: bytes, seals: bytes, ledger: bytes, public_key: str, key: bytes | None = None) -> Result:
    """The verdict with seals: `unsealed` when none, `tampered` (check `seal`) when a seal fails."""
    chained = verify_bytes(record, key)
    if chained.verdict == "tampered":
        return chained
    data = record[: record.rfind(b"\n") + 1]
    hashes = [json.loads(line)["hash"] for line in data.splitlines()]
    run = json.loads(data.splitlines()[0])["run"]
    found: list[tuple[int, str]] = []  # (events, sha256 of the note)
    for note in _notes(seals):
        text = _signed_text(note, public_key)
        if text is None:
            return Result("tampered", chained.events, None, "seal")
        fields = dict(line.split(" ", 1) for line in text.splitlines()[1:])
        events = int(fields["events"])
        stale = bool(found) and events < found[-1][0]
        if fields["run"] != run or stale or events > len(hashes) or hashes[events - 1] != fields["head"]:
            return Result("tampered", chained.events, None, "seal")
        found.append((events, hashlib.sha256(note).hexdigest()))
    latest = [line.split(b" ") for line in ledger.splitlines() if line.startswith(run.encode() + b" ")]
    if latest and latest[-1][2].decode() not in {digest for _, digest in found}:
        return Result("tampered", chained.events, None, "seal")
    if not found:
        return Result("unsealed", chained.events)
    return chained
