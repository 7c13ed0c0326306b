"""A run keeps the chain it was started with (SPEC §4): a run chained with the workspace key is not
written to once drill.toml loses its key_file (a plain line after keyed ones would break the chain
and verify would call it tampered), in the file store and in the team store alike; with the key
back, it goes on and verifies ok."""

from __future__ import annotations

import json

from tests.conftest import Drill

KEYED = '[integrity]\nkey_file = "drill.key"\n'


def test_a_keyed_run_refuses_appends_without_its_key_and_takes_them_again_with_it(
    drill: Drill, kept_in: dict[str, str]
) -> None:
    toml = drill.root / "drill.toml"
    before = toml.read_text(encoding="utf-8") if toml.exists() else ""
    (drill.root / "drill.key").write_bytes(b"s3cret-key-material")
    toml.write_text(before + KEYED, encoding="utf-8")
    run_id = drill.open(**kept_in)
    events = recorded(drill, run_id, kept_in)

    toml.write_text(before, encoding="utf-8")  # the key_file line is gone
    refused = drill("act", run_id, "acknowledge", "--by", "bob", ok=False, **kept_in)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"drill: run {run_id} is chained with the workspace key (its run.started says hmac-sha256), and drill.toml"
        " names no [integrity] key_file: set it back to that key; nothing was written"
    ]

    toml.write_text(before + KEYED, encoding="utf-8")
    assert recorded(drill, run_id, kept_in) == events
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, **kept_in)
    verified = drill("verify", run_id, ok=True, **kept_in)
    assert verified.stdout.startswith(f"{run_id}: ")
    assert "tampered" not in verified.stdout


def recorded(drill: Drill, run_id: str, kept_in: dict[str, str]) -> int:
    """How many events the run's record holds, as `drill verify` counts them (it must verify ok)."""
    [verdict] = json.loads(drill("verify", run_id, "--json", ok=True, **kept_in).stdout)
    assert verdict["verdict"] == "open"
    return int(verdict["events"])
