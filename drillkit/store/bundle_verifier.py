#!/usr/bin/env python3
"""Check a drillkit evidence bundle offline, with Python's standard library alone.

    python3 verify_bundle.py BUNDLE.zip        (or a folder the bundle was unpacked into)
    python3 verify_bundle.py BUNDLE.zip --strict --hmac-key FILE

It checks, and prints the verdict `drill verify` gives:
1. the record's hash chain (SPEC §4): every line's SHA-256 (HMAC-SHA256 with --hmac-key when
   the record says `"chain": "hmac-sha256"`), `prev` and `seq`;
2. every seal (a C2SP signed note, Ed25519) against the public key in the bundle, and that the
   record still holds every sealed line: as many events, the same hash at each sealed count;
3. the ledger checkpoint's signature, that the bundled ledger is the tree it signs, that the
   run's latest entry there is the latest seal, and the RFC 9162 inclusion proof of that seal.
Exit 0 for `ok`/`open` (1 with --strict when events are unsealed), 1 for `tampered`, 2 when
the bundle cannot be read. Ed25519 verification follows RFC 8032's reference code (§6).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
import zipfile
from pathlib import Path

# --- Ed25519 verification (RFC 8032 §6, reference style) --------------------------------------

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _point_add(a: Point, b: Point) -> Point:
    e1, b1 = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c1, d1 = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = b1 - e1, d1 - c1, d1 + c1, b1 + e1
    return (e * f, g * h, f * g, e * h)


def _point_mul(s: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        s >>= 1
    return result


def _point_equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0) or 0
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7: whether `signature` is `public`'s signature of `message`."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _point_equal(_point_mul(s, BASE), _point_add(r, _point_mul(k, a)))


# --- C2SP signed notes -------------------------------------------------------------------------

SIG_PREFIX = "\u2014 "


class Unreadable(Exception):
    """The bundle cannot be checked as it is (a file missing or unreadable, a key not given): exit 2."""


class Bad(Exception):
    """The bundle is not what it claims: the message says what was found (at `line` of the record)."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.line = line


def parse_key(text: str) -> tuple[str, bytes, bytes]:
    """`NAME+KEYID+base64(0x01 || key)`: name, key id, 32-byte public key."""
    name, hex_id, encoded = text.strip().split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    ident = bytes.fromhex(hex_id)
    if len(raw) != 33 or raw[0] != 1 or hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != ident:
        raise ValueError("not an Ed25519 verifier key whose id matches")
    return name, ident, raw[1:]


def open_note(note: bytes, key: tuple[str, bytes, bytes]) -> str | None:
    """The note's text when `key` signed it, else None."""
    name, ident, public = key
    try:
        whole = note.decode("utf-8")
    except UnicodeDecodeError:
        return None
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        return None
    text = whole[: split + 1]
    for line in whole[split + 2 : -1].split("\n"):
        signer, _, encoded = line.removeprefix(SIG_PREFIX).partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        mine = line.startswith(SIG_PREFIX) and signer == name and raw[:4] == ident
        if mine and ed25519_verify(public, text.encode(), raw[4:]):
            return text
    return None


def split_notes(data: bytes) -> list[bytes]:
    """Notes written one after another: the next begins at the first line after a signature
    block that is not a signature line. A torn last note (no final newline, or no signature line
    yet: a crash while it was written) is left out, as drill leaves it out."""
    notes: list[bytes] = []
    current: list[bytes] = []
    signing = False
    for line in data[: data.rfind(b"\n") + 1].splitlines(keepends=True):
        if signing and not line.startswith(SIG_PREFIX.encode()):
            notes.append(b"".join(current))
            current, signing = [], False
        current.append(line)
        signing = signing or line == b"\n"
    notes = [*notes, b"".join(current)] if current else notes
    while notes and not notes[-1].splitlines()[-1].startswith(SIG_PREFIX.encode()):
        notes.pop()
    return notes


# --- RFC 9162 inclusion proofs -----------------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 §2.1.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = leaves
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = [*paired, level[-1]] if len(level) % 2 else paired
    return level[0]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# --- the record --------------------------------------------------------------------------------

MARK = b',"hash":"'
AFTER_END = {"notify.sent", "notify.failed", "record.repaired", "observation", "feedback", "annotation"}


def check_record(data: bytes, hmac_key: bytes | None) -> tuple[list[str], bool]:
    """Every line's stored hash, and whether the run ended; raises Bad at the first bad line."""
    lines = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
    if not lines:
        raise Bad("the record is empty", 1)
    try:
        keyed = json.loads(lines[0]).get("chain") == "hmac-sha256"
    except (ValueError, AttributeError):
        raise Bad("the line is not a JSON object", 1) from None
    if keyed and hmac_key is None:
        raise Unreadable("the record is HMAC-chained: pass the workspace's key with --hmac-key FILE")
    hashes: list[str] = []
    prev, ended = "0" * 64, False
    for number, line in enumerate(lines, start=1):
        cut = line.rfind(MARK)
        body = line[:cut]
        digest = hmac.new(hmac_key, body, hashlib.sha256) if keyed and hmac_key else hashlib.sha256(body)
        if cut < 0 or not line.endswith(b'"}') or line[cut + len(MARK) : -2] != digest.hexdigest().encode():
            raise Bad("hash check failed: the line's bytes do not match its hash", number)
        event = json.loads(line)
        if event.get("prev") != prev or event.get("seq") != number:
            raise Bad("chain check failed: prev or seq does not follow the line before", number)
        if ended and event.get("event") not in AFTER_END:
            raise Bad(f"{event.get('event')} follows run.ended", number)
        ended = ended or event.get("event") == "run.ended"
        prev = event["hash"]
        hashes.append(prev)
    return hashes, ended


# --- the bundle --------------------------------------------------------------------------------


def read_bundle(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    with zipfile.ZipFile(path) as bundle:
        return {Path(name).name: bundle.read(name) for name in bundle.namelist() if not name.endswith("/")}


def seal_fields(text: str) -> dict[str, str]:
    lines = text.split("\n")[:-1]
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    if len(lines) != 5 or not fields.get("events", "").isdigit():
        raise Bad("seal check failed: a seal is not origin, run, events, head, time")
    return fields | {"origin": lines[0]}


def check_seals(files: dict[str, bytes], run: str, hashes: list[str]) -> tuple[int, str]:
    """The events the latest seal covers and its fingerprint; raises Bad for any seal problem."""
    try:
        key = parse_key(required(files, "public_key.txt").decode())
    except (UnicodeDecodeError, ValueError):
        raise Unreadable("public_key.txt is not a verifier key (NAME+KEYID+BASE64)") from None
    seals = split_notes(files.get(f"{run}.seals", b""))
    latest = (0, "", b"")
    for number, note in enumerate(seals, start=1):
        text = open_note(note, key)
        if text is None:
            raise Bad(f"seal check failed: seal {number}: the signature does not verify with the public key")
        fields = seal_fields(text)
        events = int(fields["events"])
        if fields["run"] != run or fields["origin"] != key[0] or events < latest[0]:
            raise Bad(f"seal check failed: seal {number} is not a later seal of this run")
        if events > len(hashes):
            raise Bad(f"seal check failed: the record has {len(hashes)} events, but a seal covers {events}")
        if hashes[events - 1] != fields["head"]:
            raise Bad(f"seal check failed: line {events} has a different hash from the one sealed")
        latest = (events, hashlib.sha256(note).hexdigest(), note)
    if seals or "checkpoint" in files:
        check_proof(files, key, run, latest[0], latest[1])
    return latest[0], latest[1][:16]


PROOF_KEYS = {"leaf_index", "tree_size", "inclusion_proof"}  # every one required: a renamed key is no proof


def check_proof(files: dict[str, bytes], key: tuple[str, bytes, bytes], run: str, events: int, digest: str) -> None:
    """The latest seal is the run's latest entry of the ledger the signed checkpoint names, and
    the inclusion proof shows it in that tree."""
    text = open_note(files.get("checkpoint", b""), key)
    if text is None:
        raise Bad("ledger check failed: the checkpoint's signature does not verify with the public key")
    _, size, root = text.split("\n")[:3]
    lines = files.get("ledger", b"").split(b"\n")[:-1]
    leaves = [hashlib.sha256(b"\x00" + line).digest() for line in lines]
    if len(leaves) != int(size) or tree_root(leaves) != base64.b64decode(root):
        raise Bad("ledger check failed: the bundled ledger is not the one the checkpoint signs")
    entry = f"{run} {events} {digest}".encode()
    mine = [index for index, line in enumerate(lines) if line.startswith(f"{run} ".encode())]
    if not mine and not events:
        return  # never sealed, and the ledger agrees
    if not mine or lines[mine[-1]] != entry:
        raise Bad("ledger check failed: the ledger holds a later seal of this run than the seals file")
    proof = json.loads(files.get("proof.json", b"{}"))
    if not isinstance(proof, dict) or set(proof) != PROOF_KEYS:
        raise Bad("ledger check failed: proof.json is not an inclusion proof (leaf_index, tree_size, inclusion_proof)")
    path, at, tree = _proof_hashes(proof["inclusion_proof"]), proof["leaf_index"], proof["tree_size"]
    if (at, tree) != (mine[-1], len(leaves)) or not verify_inclusion(at, tree, leaves[at], path, tree_root(leaves)):
        raise Bad("ledger check failed: the inclusion proof of the latest seal does not hold")


HEX = frozenset("0123456789abcdef")


def _proof_hashes(hashes: object) -> list[bytes]:
    """The proof's hashes, each exactly 64 lowercase hex digits: `bytes.fromhex` would read an
    upper-case digit as the same byte, so an altered proof could still hold."""
    if not isinstance(hashes, list) or not all(isinstance(h, str) and len(h) == 64 and set(h) <= HEX for h in hashes):
        raise Bad("ledger check failed: the inclusion proof's hashes are not 64 lowercase hex digits each")
    return [bytes.fromhex(h) for h in hashes]


def required(files: dict[str, bytes], name: str) -> bytes:
    if name not in files:
        raise Unreadable(f"the bundle has no {name}")
    return files[name]


def verdict(files: dict[str, bytes], hmac_key: bytes | None) -> tuple[str, int, int]:
    """The line `drill verify` prints for the bundled run, and the exit code without and with --strict."""
    name = next((n for n in files if n.endswith(".jsonl")), None)
    if name is None:
        raise Unreadable("the bundle has no record (RUN.jsonl)")
    run = name.removesuffix(".jsonl")
    try:
        hashes, ended = check_record(files[name], hmac_key)
        sealed, fingerprint = check_seals(files, run, hashes)
    except Bad as bad:
        at = f" at line {bad.line}" if bad.line is not None else ""
        return f"{run}: tampered{at}: {bad}", 1, 1
    head = f"{len(hashes)} events, head {hashes[-1]}"
    if not sealed:
        return f"{run}: unsealed — {head}", 0, 1
    tail = len(hashes) - sealed
    unsealed = f", {tail} events unsealed" if tail else ""
    return f"{run}: {'ok' if ended else 'open'}{unsealed} — {head}, seal {fingerprint}", 0, 1 if tail else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a drillkit evidence bundle offline.")
    parser.add_argument("bundle", nargs="?", default=str(Path(__file__).parent), help="the .zip, or its folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 when events are unsealed")
    parser.add_argument("--hmac-key", type=Path, help="the workspace's HMAC key, for an HMAC-chained record")
    args = parser.parse_args(argv)
    try:
        files = read_bundle(Path(args.bundle))
        key = args.hmac_key.read_bytes().strip() if args.hmac_key else None
        line, normal, strict = verdict(files, key)
    except Unreadable as exc:
        print(f"verify_bundle: cannot check the bundle: {exc}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        print(f"verify_bundle: cannot read the bundle: {exc!r}", file=sys.stderr)
        return 2
    print(line)
    return strict if args.strict else normal


if __name__ == "__main__":
    sys.exit(main())
