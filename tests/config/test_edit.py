"""`drill keys init` writes its public key into drill.toml, keeping what the file already says."""

import tomllib
from pathlib import Path

import pytest

from drillkit.config.edit import add_setting
from drillkit.model.errors import UsageError

EXISTING = """\
timezone = "Asia/Shanghai"  # the display zone

[integrity]
key_file = "secrets/drill.key"

[[notify]]
name = "pager"
kind = "command"
command = ["page"]
"""


def test_a_setting_joins_its_existing_table_and_the_rest_stays(tmp_path: Path) -> None:
    path = tmp_path / "drill.toml"
    path.write_text(EXISTING, encoding="utf-8")
    add_setting(path, "integrity", "seal_public_key", "ws+00000000+KEY")
    text = path.read_text(encoding="utf-8")
    assert text.replace('seal_public_key = "ws+00000000+KEY"\n', "") == EXISTING
    data = tomllib.loads(text)
    assert data["integrity"] == {"key_file": "secrets/drill.key", "seal_public_key": "ws+00000000+KEY"}
    assert data["notify"][0]["name"] == "pager"


def test_a_missing_table_or_file_is_made(tmp_path: Path) -> None:
    path = tmp_path / "drill.toml"
    add_setting(path, "integrity", "seal_public_key", "k")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"integrity": {"seal_public_key": "k"}}
    path.write_text('timezone = "UTC"\n', encoding="utf-8")
    add_setting(path, "integrity", "seal_public_key", "k")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"timezone": "UTC", "integrity": {"seal_public_key": "k"}}


def test_a_key_already_set_is_refused_and_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "drill.toml"
    path.write_text('[integrity]\nseal_public_key = "old"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="already set"):
        add_setting(path, "integrity", "seal_public_key", "new")
    assert path.read_text(encoding="utf-8") == '[integrity]\nseal_public_key = "old"\n'
