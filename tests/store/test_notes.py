"""C2SP signed notes against the vectors of golang.org/x/mod/sumdb/note (note_test.go: TestSign,
TestOpen, TestNewVerifier), the implementation the Go checksum database and its witnesses use.
Ed25519 is deterministic, so signing the same text with the same key must give their bytes."""

import pytest

from drillkit.store import ed25519, notes

PETER_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VERIFIER = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def _sign(signer: str, text: str) -> bytes:
    key = notes.parse_signer_key(signer)
    public = ed25519.public_key(key.key)
    assert notes.key_id(key.name, public) == key.key_id
    sig = notes.Signature(name=key.name, key_id=key.key_id, signature=ed25519.sign(key.key, text.encode()))
    return notes.format_note(notes.Note(text=text, signatures=(sig,)))


def test_signing_gives_the_go_implementations_note() -> None:
    assert _sign(PETER_SIGNER, TEXT).decode() == TEXT + "\n" + PETER_SIG


def test_the_signer_keys_public_half_is_the_published_verifier_key() -> None:
    key = notes.parse_signer_key(PETER_SIGNER)
    assert notes.verifier_key(key.name, ed25519.public_key(key.key)) == PETER_VERIFIER


@pytest.mark.parametrize(("verifier", "line"), [(PETER_VERIFIER, PETER_SIG), (ENOCH_VERIFIER, ENOCH_SIG)])
def test_published_signatures_verify_with_their_keys(verifier: str, line: str) -> None:
    key = notes.parse_verifier_key(verifier)
    note = notes.parse_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode())
    assert note.text == TEXT
    mine = [s for s in note.signatures if s.name == key.name and s.key_id == key.key_id]
    assert len(mine) == 1
    assert ed25519.verify(key.key, mine[0].signature, TEXT.encode())
    assert notes.signature_line(mine[0]) == line
    assert not ed25519.verify(key.key, mine[0].signature, TEXT.replace("problem", "problems").encode())


def test_mangled_verifier_keys_are_refused() -> None:
    raw = PETER_VERIFIER
    for i in range(len(raw)):
        mangled = raw[:i] + chr(ord(raw[i]) + 1) + raw[i + 1 :]
        with pytest.raises(notes.NoteError):
            notes.parse_verifier_key(mangled)
    with pytest.raises(notes.NoteError):  # wrong length key, with adjusted key hash (from the Go tests)
        notes.parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(notes.NoteError):  # unknown algorithm, with adjusted key hash
        notes.parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_notes_written_one_after_another_split_back() -> None:
    first = _sign(PETER_SIGNER, "origin\nrun a\n")
    second = _sign(PETER_SIGNER, "origin\nrun b\n")
    assert notes.split_notes(first + second) == [first, second]
    with pytest.raises(notes.NoteError):
        notes.parse_note(b"text without signatures\n")
