"""One connection to the team store per process and URL, and the one place psycopg's errors
become one-line `DrillError`s naming the server and what to do."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors

from drillkit.model.clock import SystemClock
from drillkit.model.errors import DrillError, RecordError, UsageError

CONNECT_TIMEOUT = 5  # seconds before an unreachable server is reported
ATTEMPTS = 5  # a command whose connection dropped is tried this often in all, when that is safe
RETRY_PAUSE = 0.05  # seconds, times the attempt's number
WALL = SystemClock()  # what a read waits on before it tries again
T = TypeVar("T")
# A server gone silent while the connection stays open (a network cut that drops packets rather
# than closing sockets) is noticed in about half a minute, not after the system's two hours:
# keepalive probes every 5 s after 10 s idle, 3 unanswered end it; so does data unacknowledged 25 s.
SILENCE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
UNACKNOWLEDGED_MS = 25_000
# Acknowledged is durable, whatever the server's default; and no query is JIT-compiled: drill's are
# short, and on 1,000 runs compiling doubled a listing's (200 ms against 90 ms).
SESSION = "-c synchronous_commit=on -c jit=off"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PASSWORD = re.compile(r"[A-Za-z]+://[^:/?#@]*:([^/?#]*)@")  # scheme://user:PASSWORD@host…


class Unreachable(RecordError):
    """The server did not accept a connection."""


class Fenced(RecordError):
    """A newer scheduler took over: this one's writes are refused."""


class ConnectionLost(RecordError):
    """The connection dropped; `committed` is None when the COMMIT was sent but not answered."""

    def __init__(self, message: str, *, committed: bool | None) -> None:
        super().__init__(message)
        self.committed = committed


class RolledBack(RecordError):
    """The server rolled the transaction back to settle a deadlock or a serialization failure:
    nothing was written, and the same attempt may be made again."""


def expand(url: str) -> str:
    """`${VAR}` taken from the environment (a password never sits in a file of ours)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise UsageError(f"the team store URL names ${{{name}}}, which is not set in the environment")
        return os.environ[name]

    return _VARIABLE.sub(value, url)


def without_password(text: str, url: str) -> str:
    """libpq's word on a URL it cannot read, which may quote the URL: its password masked."""
    found = _PASSWORD.match(url)
    return text.replace(found.group(1), "****") if found and found.group(1) else text


def server_of(url: str) -> str:
    """`host:port` of a URL as libpq would resolve it, for messages (never the password)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the team store"
    host = str(info.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    return f"{host}:{port}"


class Database:
    """A connection opened on first use and again after it was lost; `lock` keeps the threads
    of one process from interleaving their transactions on it."""

    def __init__(self, url: str) -> None:
        self.url = expand(url)
        self.server = server_of(self.url)
        self.lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self.epoch: int | None = None  # the scheduler lease this process writes under, if any

    def fence(self, epoch: int) -> None:
        """From now on every write of this process checks that `epoch` is still the lease's."""
        self.epoch = epoch

    def check_fence(self, cursor: psycopg.Cursor[Any]) -> None:
        """Refuse the write when a newer scheduler took the lease (the row is share-locked until
        the write commits: a takeover waits for it)."""
        if self.epoch is None:
            return
        with cursor.connection.cursor() as plain:  # whatever rows the caller's cursor makes
            plain.execute("SELECT epoch, host FROM drill.lease FOR SHARE")
            row = plain.fetchone()
        if row is None or row[0] != self.epoch:
            newer = f"epoch {row[0]} on {row[1]}" if row else "another scheduler"
            raise Fenced(f"this scheduler (epoch {self.epoch}) was replaced by {newer}; its write is refused")

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self._conn.close()  # a lost connection is let go of before another is opened
            self._conn = None
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return connect(self.url, "drill", options=SESSION)
        except psycopg.OperationalError as exc:
            raise Unreachable(_not_connected(self.server, first_line(exc))) from None
        except psycopg.Error as exc:  # a URL libpq cannot read
            said = without_password(first_line(exc), self.url)
            raise UsageError(f"the team store URL ([store] url or DRILL_STORE): {said}") from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor in one transaction, committed at the end; psycopg's errors as `DrillError`s."""
        with self.lock, self.errors():
            conn = self.connection()
            try:
                with conn.cursor() as cursor:
                    yield cursor
            except BaseException:
                if not conn.broken:
                    conn.rollback()
                raise
            self.commit(conn)

    @contextmanager
    def statement(self, *, writes: bool = False) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor whose every statement is a transaction of its own (autocommit): one round
        trip, no `BEGIN` or `COMMIT` of its own. A write whose connection was lost before the
        answer may have been committed (`committed` None)."""
        when = "before the write was answered (it may have been recorded)" if writes else "during a read"
        with self.lock, self.errors(when=when):
            conn = self.connection()
            conn.autocommit = True
            try:
                with conn.cursor() as cursor:
                    yield cursor
            finally:
                if not conn.closed:  # a lost connection is replaced by one in transactions again
                    conn.autocommit = False

    def commit(self, conn: psycopg.Connection[Any]) -> None:
        try:
            conn.commit()
        except psycopg.OperationalError as exc:
            raise ConnectionLost(self.lost(exc, "during COMMIT"), committed=None) from None

    def lost(self, exc: BaseException, when: str) -> str:
        return f"the connection to the team store at {self.server} was lost {when}: {first_line(exc)}"

    @contextmanager
    def errors(self, when: str | None = None) -> Iterator[None]:
        """psycopg's errors said in one line, naming the server; `when` says what a connection
        lost on the way may have left (by default: nothing, the transaction was not committed)."""
        try:
            yield
        except DrillError:
            raise
        except errors.InsufficientPrivilege as exc:
            raise RecordError(
                f"the team store at {self.server} refused it: {first_line(exc)} (see docs/team.md)"
            ) from None
        except errors.UndefinedTable:
            raise RecordError(
                f"the team store at {self.server} has no drillkit tables yet; run `drill store init`"
            ) from None
        except errors.UndefinedFunction:
            raise RecordError(
                f"the team store at {self.server} has an older drillkit schema; run `drill store init` to upgrade it"
            ) from None
        except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
            raise RolledBack(
                f"the team store at {self.server} rolled it back: {first_line(exc)} (nothing was written)"
            ) from None
        except psycopg.OperationalError as exc:
            if self._conn is not None and not self._conn.closed:  # answered: a full disk, not a lost connection
                raise RecordError(
                    f"the team store at {self.server} refused it: {first_line(exc)}"
                    " (nothing was written; its administrator can say why)"
                ) from None
            if when is not None:
                raise ConnectionLost(self.lost(exc, when), committed=None) from None
            raise ConnectionLost(self.lost(exc, "before COMMIT (nothing was written)"), committed=False) from None
        except psycopg.Error as exc:
            raise RecordError(f"the team store at {self.server}: {first_line(exc)}") from None


def _not_connected(server: str, said: str) -> str:
    """Why no connection was made, and what to do: a server that answered and refused the login
    (no such role or database, a wrong password) is not said to be down."""
    _reached, fatal, why = said.partition("FATAL:")
    if fatal:
        return (
            f"the team store at {server} refused the connection: {why.strip()}; fix [store] url / DRILL_STORE"
            " or ask the database's administrator (nothing was written)"
        )
    return (
        f"cannot reach the team store at {server}: {said}; start the server or fix"
        " [store] url / DRILL_STORE (nothing was written)"
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_OPEN: dict[tuple[int, str], Database] = {}


def connect(url: str, application_name: str, *, autocommit: bool = False, options: str = "") -> psycopg.Connection[Any]:
    """A connection to the team store, as every one of drill's is opened: a time limit to reach
    the server, and a silent server noticed (`SILENCE`)."""
    params: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": application_name,
        "tcp_user_timeout": UNACKNOWLEDGED_MS,
        **SILENCE,
    }
    if options:
        params["options"] = options
    return psycopg.connect(url, autocommit=autocommit, **params)


def tried_again(attempt: Callable[[], T], sleep: Callable[[float], None] = WALL.sleep) -> T:
    """`attempt`, tried again when the connection dropped or the server rolled it back: safe for a
    read, which may be made twice, and for a write that carries its `req`, which a retry finds if a
    lost COMMIT had written it. A server unreachable at the first attempt is reported at once."""
    for number in range(1, ATTEMPTS):
        try:
            return attempt()
        except (ConnectionLost, RolledBack):
            pass
        except Unreachable:
            if number == 1:
                raise
        sleep(RETRY_PAUSE * number)
    return attempt()


def database(url: str) -> Database:
    """This process's connection to the store at `url` (a forked child opens its own)."""
    key = (os.getpid(), url)
    found = _OPEN.get(key)
    if found is None:
        found = _OPEN[key] = Database(url)
    return found
