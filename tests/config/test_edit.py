"""`drill keys init` writes its public key into drill.toml, keeping what the file already says."""

import subprocess
import sys
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


def test_a_byte_order_mark_the_file_begins_with_stays_there(tmp_path: Path) -> None:
    path = tmp_path / "drill.toml"
    path.write_text("\ufeff[integrity]\n", encoding="utf-8")
    add_setting(path, "integrity", "seal_public_key", "k")
    assert path.read_text(encoding="utf-8") == '\ufeff[integrity]\nseal_public_key = "k"\n'


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


ADD_ON_A_FULL_DISK = """\
import resource, sys
from pathlib import Path
from drillkit.config.edit import add_setting
from drillkit.model.errors import UsageError
resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))  # writes past 100 bytes come up short
try:
    add_setting(Path(sys.argv[1]), "integrity", "seal_public_key", "ws+00000000+KEY")
except UsageError as err:
    sys.exit(str(err))
"""


def test_a_disk_too_full_for_the_new_file_leaves_drill_toml_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "drill.toml"
    path.write_text(EXISTING, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", ADD_ON_A_FULL_DISK, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.startswith("drill.toml: cannot write it:"), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert path.read_text(encoding="utf-8") == EXISTING
    assert [p.name for p in tmp_path.iterdir()] == ["drill.toml"]  # no temporary file left
