"""`drill keys init` (services/seals.py): a refused init writes no key."""

from __future__ import annotations

import pytest

from tests.conftest import Drill


@pytest.mark.parametrize(
    ("url", "code", "said"),
    [
        ("http://x", 2, "drill: drill.toml: [store] url must be a postgresql:// URL, e.g. "),
        ("postgresql://nobody@127.0.0.1:1/x", 1, "drill: cannot reach the team store at 127.0.0.1:1:"),
    ],
    ids=["bad-url", "unreachable"],
)
def test_keys_init_on_a_team_store_that_cannot_answer_writes_no_key(
    drill: Drill, url: str, code: int, said: str
) -> None:
    toml = f'[store]\nurl = "{url}"\n'
    (drill.root / "drill.toml").write_text(toml, encoding="utf-8")
    done = drill("keys", "init")
    assert (done.returncode, done.stdout, len(done.stderr.splitlines())) == (code, "", 1)
    assert done.stderr.startswith(said)
    assert not (drill.root / "logs" / "keys").exists()
    assert (drill.root / "drill.toml").read_text(encoding="utf-8") == toml
