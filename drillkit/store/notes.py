"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, in pure code.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(key id || signature)>`. The key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key); the signature covers the text, final newline
included. Keys are written as Go's `golang.org/x/mod/sumdb/note` writes them: the verifier key
`<name>+<hex key id>+<base64(0x01 || public key)>` and the signer key
`PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`. The Ed25519 arithmetic itself is
`store/ed25519.py`'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

ED25519 = 0x01  # the signature-type byte of Ed25519 keys
SIG_PREFIX = "\u2014 "  # an em dash and a space
PRIVATE = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A note or key that is not well formed (what is wrong is the message)."""


@dataclass(frozen=True, kw_only=True)
class Key:
    """An Ed25519 key of a signed note: its name, id and 32 key bytes (public key or seed)."""

    name: str
    key_id: bytes
    key: bytes


@dataclass(frozen=True, kw_only=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, kw_only=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def verifier_key(name: str, public_key: bytes) -> str:
    encoded = base64.b64encode(bytes([ED25519]) + public_key).decode()
    return f"{check_name(name)}+{key_id(name, public_key).hex()}+{encoded}"


def signer_key(name: str, seed: bytes, public_key: bytes) -> str:
    encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
    return f"{PRIVATE}{check_name(name)}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> Key:
    """A verifier key string, its id checked against its name and key."""
    key = _parse_key(text, "public key")
    if key.key_id != key_id(key.name, key.key):
        raise NoteError("public key: its key id does not match its name and key")
    return key


def parse_signer_key(text: str) -> Key:
    """A signer key string; the id is checked by the caller, who derives the public key."""
    if not text.startswith(PRIVATE):
        raise NoteError(f"private key: does not start with {PRIVATE}")
    return _parse_key(text[len(PRIVATE) :], "private key")


def _parse_key(text: str, what: str) -> Key:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"{what}: expected NAME+KEYID+KEY")
    name, hex_id, encoded = parts
    try:
        check_name(name)
        raw = base64.b64decode(encoded, validate=True)
        ident = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what}: {exc}") from None
    if len(hex_id) != 8 or len(raw) != 33 or raw[0] != ED25519:
        raise NoteError(f"{what}: not an Ed25519 key (8 hex digits of key id, 0x01 and 32 key bytes)")
    return Key(name=name, key_id=ident, key=raw[1:])


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")  # every control character but the newline


def check_text(text: str) -> str:
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must be non-empty lines, ending in a newline, with no blank line")
    if _CONTROL.search(text):
        raise NoteError("note text must have no control characters")
    return text


def signature_line(sig: Signature) -> str:
    return f"{SIG_PREFIX}{sig.name} {base64.b64encode(sig.key_id + sig.signature).decode()}\n"


def format_note(note: Note) -> bytes:
    return (check_text(note.text) + "\n" + "".join(signature_line(s) for s in note.signatures)).encode()


def parse_note(data: bytes) -> Note:
    """A signed note's text and signatures (not yet verified)."""
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note is not UTF-8") from None
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise NoteError("note has no blank line before its signatures")
    text, lines = check_text(whole[: split + 1]), whole[split + 2 : -1].split("\n")
    return Note(text=text, signatures=tuple(_signature(line) for line in lines))


def _signature(line: str) -> Signature:
    if not line.startswith(SIG_PREFIX):
        raise NoteError(f"signature line {line[:40]!r} does not start with an em dash")
    name, _, encoded = line[len(SIG_PREFIX) :].partition(" ")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError(f"signature of {name!r} is not base64") from None
    if len(raw) < 5:
        raise NoteError(f"signature of {name!r} is too short")
    return Signature(name=check_name(name), key_id=raw[:4], signature=raw[4:])


def split_notes(data: bytes) -> list[bytes]:
    """Signed notes written one after another: each ends at its last signature line, and the
    next begins at the first line that is not one (a note's text never starts with an em dash)."""
    notes: list[bytes] = []
    current: list[bytes] = []
    in_signatures = False
    marker = SIG_PREFIX.encode()
    for line in data.splitlines(keepends=True):
        if in_signatures and not line.startswith(marker):
            notes.append(b"".join(current))
            current, in_signatures = [], False
        current.append(line)
        if line == b"\n":
            in_signatures = True
    if current:
        notes.append(b"".join(current))
    return notes
