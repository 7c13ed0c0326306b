"""Ed25519 (RFC 8032) through the `cryptography` package: the one module that imports it.

Keys are the 32-byte seed and the 32-byte public key, as signed notes write them."""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def new_seed() -> bytes:
    """A fresh private key's 32-byte seed, from the operating system's random source."""
    return os.urandom(32)


def public_key(seed: bytes) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes_raw()  # not public_bytes(): its enums' module costs ~50 ms to import


def sign(seed: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def verify(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        _verifier(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=8)
def _verifier(public: bytes) -> Ed25519PublicKey:
    """The key loaded once: `drill verify` checks every seal of a workspace with the same key."""
    return Ed25519PublicKey.from_public_bytes(public)
