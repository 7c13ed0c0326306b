"""The bundle's standalone Ed25519 (pure Python, RFC 8032 reference style) against RFC 8032's
test vectors (§7.1, TESTs 1-3), the x/mod sumdb/note vectors, and signatures from `cryptography`."""

import pytest

from drillkit.store import ed25519
from drillkit.store.bundle_verifier import ed25519_verify, open_note, parse_key, split_notes

RFC8032 = [  # (secret key, public key, message, signature)
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    pub, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    assert ed25519.public_key(bytes.fromhex(secret)) == pub
    assert ed25519.sign(bytes.fromhex(secret), msg) == sig
    assert ed25519_verify(pub, msg, sig)
    assert not ed25519_verify(pub, msg + b"x", sig)
    assert not ed25519_verify(pub, msg, sig[:5] + bytes([sig[5] ^ 1]) + sig[6:])


def test_pure_and_library_verification_agree() -> None:
    for n in range(8):
        seed = ed25519.new_seed()
        message = f"message {n}".encode() * n
        signature = ed25519.sign(seed, message)
        public = ed25519.public_key(seed)
        assert ed25519_verify(public, message, signature)
        assert ed25519.verify(public, signature, message)
        assert not ed25519_verify(public, message, bytes(64))


def test_the_go_note_vector_opens() -> None:
    key = parse_key("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    signature = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
    note = f"{text}\n— PeterNeumann {signature}\n".encode()
    assert open_note(note, key) == text
    assert open_note(note.replace(b"problem,", b"problem;"), key) is None
    assert split_notes(note + note + b"torn") == [note, note]
