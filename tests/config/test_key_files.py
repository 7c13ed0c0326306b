"""A key file drill.toml names may be anything: a FIFO, a device or a file far too large is named
in one line, never read (a read would wait forever or never end), and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Drill

NOT_KEYS = {
    "fifo": "not a regular file",
    "device": "not a regular file",
    "huge": "larger than 64 KiB, not a key",
}


def _not_a_key(root: Path, kind: str) -> str:
    """The path, as drill.toml gives it, of something that is not a key file."""
    if kind == "device":
        return "/dev/zero"
    path = root / f"{kind}.key"
    if kind == "fifo":
        os.mkfifo(path)  # no writer ever opens it: a read would wait forever
    else:
        path.write_bytes(b"k" * (64 * 1024 + 1))
    return path.name


def _logs(root: Path) -> list[tuple[str, bytes]]:
    return sorted((str(p), p.read_bytes()) for p in (root / "logs").rglob("*") if p.is_file())


def _key_file(root: Path, path: str) -> None:
    (root / "drill.toml").write_text(f'[integrity]\nkey_file = "{path}"\n', encoding="utf-8")


@pytest.mark.parametrize("kind", NOT_KEYS)
def test_an_hmac_key_file_that_is_not_one_is_named_and_nothing_is_written(drill: Drill, kind: str) -> None:
    (drill.root / "hmac.key").write_text("a real key\n", encoding="utf-8")
    _key_file(drill.root, "hmac.key")
    run = drill.open()  # a keyed run: every later write needs the key
    path = _not_a_key(drill.root, kind)
    _key_file(drill.root, path)
    before = _logs(drill.root)
    checked = drill("validate")
    assert checked.returncode == 1
    assert f"[integrity] key_file '{path}': cannot read it: {NOT_KEYS[kind]}" in checked.stdout + checked.stderr
    opening = ["open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice"]
    for command in (opening, ["note", run, "hello", "--by", "alice"]):
        done = drill(*command)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"drill: drill.toml: [integrity] key_file {path}: {NOT_KEYS[kind]}\n"
    assert _logs(drill.root) == before
    _key_file(drill.root, "hmac.key")  # back, for the record's check at teardown


@pytest.mark.parametrize("kind", NOT_KEYS)
def test_a_seal_key_that_is_not_one_is_named_by_keys_show_and_seals_nothing(drill: Drill, kind: str) -> None:
    path = _not_a_key(drill.root, kind)
    (drill.root / "drill.toml").write_text(f'[integrity]\nseal_key = "{path}"\n', encoding="utf-8")
    shown = drill("keys", "show")
    assert shown.returncode == 2
    assert shown.stderr.endswith(f": {NOT_KEYS[kind]}\n")
    assert len(shown.stderr.splitlines()) == 1
    run = drill.open()  # a command never fails for want of the seal key: the run is left unsealed, said once
    ended = drill("abort", run, "--by", "alice", "--reason", "a test", ok=True)
    said = [line for line in ended.stderr.splitlines() if line.startswith("drill: warning:")]
    assert len(said) == 1, ended.stderr
    assert f"{path}: {NOT_KEYS[kind]}" in said[0]
    assert drill("verify", run, "--json", ok=True).returncode == 0
