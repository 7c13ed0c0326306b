"""A fresh PostgreSQL database per test for the team store (SPEC §8), with drillkit's schema and
the roles and grants `docs/team.md` gives, drillkit connecting as a non-owner login.

The server is `DRILL_TEST_PG` (default: postgres on 127.0.0.1:5432, named explicitly since
tests may run as root and libpq would log in as `root`). Where no server answers, the tests
that need one skip with the reason, or fail when `DRILL_REQUIRE_SERVICES=1`.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DRILL, REQUIRE_SERVICES

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TEAM_DOC = Path(__file__).parents[1] / "docs" / "team.md"
GROUPS = ("drill_reviewer", "drill_responder", "drill_scheduler")
RECORD_FULL = """
CREATE OR REPLACE FUNCTION public.record_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(octet_length(line) + 1) FROM drill.line WHERE run = TG_ARGV[0]) > TG_ARGV[1]::bigint THEN
        RAISE EXCEPTION 'could not extend the record of %: no space left on device', TG_ARGV[0]
            USING ERRCODE = 'disk_full';
    END IF;
    RETURN NULL;
END
$$
"""

ROLLED_BACK = """
CREATE SEQUENCE IF NOT EXISTS public.rollbacks;
CREATE OR REPLACE FUNCTION public.rolled_back() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF nextval('public.rollbacks') <= TG_ARGV[0]::bigint THEN
        RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
    END IF;
    RETURN NULL;
END
$$
"""


def server_url() -> str:
    return os.environ.get("DRILL_TEST_PG") or DEFAULT_SERVER


def _admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def require_server() -> str:
    """The test server's URL; skip (or fail, when services are required) where none answers."""
    import psycopg

    url = server_url()
    try:
        _admin(url).close()
    except psycopg.OperationalError as exc:
        reason = f"no PostgreSQL server answers at DRILL_TEST_PG={url} ({str(exc).strip().splitlines()[0]})"
        if os.environ.get(REQUIRE_SERVICES) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_SERVICES}=1 requires it", pytrace=False)
        pytest.skip(reason)
    return url


def grants_sql() -> str:
    """The grants block of docs/team.md, as operators are told to run it."""
    text = TEAM_DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- grants:.*?-->\s*```sql\n(.*?)```", text, re.S)
    assert found, "docs/team.md has lost its grants block"
    return found.group(1)


def with_url_user(url: str, user: str, database: str) -> str:
    """`url` logging in as `user` to `database`."""
    scheme, rest = url.split("://", 1)
    host = rest.split("@", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    return f"{scheme}://{user}@{host}/{database}"


@dataclass
class TeamDb:
    """One test's database: `owner` is the administrator's URL (it owns the tables); `url`
    logs in as a responder, `reviewer` as a read-only reviewer, `scheduler` as a scheduler."""

    server: str
    name: str
    suffix: str

    def as_user(self, user: str) -> str:
        return with_url_user(self.server, user, self.name)

    @property
    def owner(self) -> str:
        return self.as_user(_server_user(self.server))

    @property
    def url(self) -> str:
        return self.as_user(f"responder_{self.suffix}")

    @property
    def reviewer(self) -> str:
        return self.as_user(f"reviewer_{self.suffix}")

    @property
    def scheduler(self) -> str:
        return self.as_user(f"scheduler_{self.suffix}")

    def role(self, group: str) -> str:
        return f"{group}_{self.suffix}"

    def connect(self, url: str | None = None) -> Any:
        return _admin(url or self.owner)

    def record_full(self, run_id: str, limit: int) -> AbstractContextManager[None]:
        """While it lasts, the server refuses every statement that leaves the run's lines (and a
        newline each) past `limit` bytes, with the error a full disk gives: as the file store's
        full disk, for the team store. The refused transaction is rolled back whole."""
        return self._line_trigger(RECORD_FULL, f"record_full('{run_id}', '{limit:d}')")

    def rolled_back(self, times: int) -> AbstractContextManager[None]:
        """While it lasts, the server rolls back the first `times` statements that write lines, as
        it does one side of a deadlock (a sequence counts them: a rollback does not undo it)."""
        return self._line_trigger(ROLLED_BACK, f"rolled_back('{times:d}')", "DROP SEQUENCE public.rollbacks")

    @contextmanager
    def _line_trigger(self, function: str, call: str, *cleanup: str) -> Iterator[None]:
        """A trigger after every statement that writes lines, calling `call` of the `function`
        defined (as the owner), dropped afterwards with what `cleanup` says."""
        name = call.partition("(")[0]
        with self.connect() as owner:
            owner.execute(function)
            owner.execute(
                f"CREATE TRIGGER {name} AFTER INSERT ON drill.line"
                f" FOR EACH STATEMENT EXECUTE FUNCTION public.{call}".encode()
            )
        try:
            yield
        finally:
            with self.connect() as owner:
                for statement in (f"DROP TRIGGER {name} ON drill.line", *cleanup):
                    owner.execute(statement.encode())

    def cut_listeners(self) -> None:
        """End the listening sessions on this database, as a network cut or a restart would."""
        with self.connect() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'drill-listen'"
            )


def _server_user(url: str) -> str:
    rest = url.split("://", 1)[1]
    return rest.split("@", 1)[0].split(":", 1)[0] if "@" in rest else "postgres"


def _rename_groups(sql: str, suffix: str) -> str:
    return re.sub(r"\b(" + "|".join(GROUPS) + r")\b", lambda m: f"{m.group(1)}_{suffix}", sql)


def init_schema(db: TeamDb) -> None:
    """`drill store init` as the owner, then the documented grants and one login per group."""
    done = subprocess.run(
        [str(DRILL), "store", "init"],
        env={**_clean_env(), "DRILL_STORE": db.owner},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with db.connect() as conn:
        conn.execute(_rename_groups(grants_sql(), db.suffix).encode())
        for login, group in (("reviewer", "drill_reviewer"), ("responder", "drill_responder")):
            conn.execute(f"CREATE ROLE {login}_{db.suffix} LOGIN IN ROLE {group}_{db.suffix}".encode())
        if _has_group(conn, db.role("drill_scheduler")):
            conn.execute(f"CREATE ROLE scheduler_{db.suffix} LOGIN IN ROLE drill_scheduler_{db.suffix}".encode())


def _has_group(conn: Any, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}


@pytest.fixture(params=["files", "postgres"])
def kept_in(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where a test's records are kept, once in files and once in the team store: the environment
    that points `drill` at them (none for files)."""
    if request.param == "files":
        return {}
    team_db: TeamDb = request.getfixturevalue("team_db")
    return {"DRILL_STORE": team_db.url}


@pytest.fixture
def team_db() -> Iterator[TeamDb]:
    """A fresh database with drillkit's schema and roles, dropped (with its roles) afterwards."""
    server = require_server()
    suffix = secrets.token_hex(4)
    db = TeamDb(server, f"drill_test_{suffix}", suffix)
    with _admin(server) as admin:
        admin.execute(f"CREATE DATABASE {db.name}".encode())
    try:
        init_schema(db)
        yield db
    finally:
        _drop(server, db)


def _drop(server: str, db: TeamDb) -> None:
    with _admin(server) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)".encode())
        roles = [
            row[0] for row in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"%{db.suffix}",))
        ]
        for role in roles:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())
