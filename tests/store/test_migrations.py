"""The team store's shipped migrations: one per version, numbered 1, 2, 3… with no gap or repeat,
so two changes that each added "the next" migration cannot both be shipped unnoticed (the second
would fail `drill store init` on the `schema_version` key)."""

from __future__ import annotations

from drillkit.store.postgres.schema import latest_version, migrations


def test_migration_versions_count_up_by_one_from_1() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1)), [(m.version, m.name) for m in found]
    assert latest_version() == len(found)


def test_the_actions_ledger_has_its_migration() -> None:
    assert any("actions" in m.name and "drill.action_line" in m.sql for m in migrations())
