"""The workspace folder: where plans live, where records go, and `drill.toml` (SPEC §1)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from drillkit.config.sections import (
    SECTIONS,
    STORE_EXAMPLE,
    STORE_SCHEMES,
    TOP_LEVEL,
    roster_names,
    unreadable_config,
)
from drillkit.model.errors import RecordError, UsageError
from drillkit.model.timefmt import check_zone

if TYPE_CHECKING:
    from drillkit.config.notifiers import Notifier

FILE_MODE = 0o640
DIR_MODE = 0o750
NOT_REGULAR_CONFIG = "not a regular file; drill.toml must be a readable file, or absent"


class Config(NamedTuple):
    """`drill.toml`, all keys optional."""

    timezone: str = "UTC"
    redact: tuple[str, ...] = ()
    notify: tuple[dict[str, Any], ...] = ()
    blackout: tuple[dict[str, Any], ...] = ()
    key_file: Path | None = None
    seal_key: Path | None = None  # the Ed25519 signing key (SPEC §9); None: `logs/keys/seal.key`
    seal_public_key: str | None = None
    store_url: str | None = None  # `[store] url`: the team store (SPEC §8); none keeps records in files
    store_lease: float = 10.0  # `[store] lease`: seconds a standby scheduler waits before it takes over
    places: Mapping[str, Path] = MappingProxyType({})  # `[paths]`: where logs/ and logs/runs/ may lead
    people: tuple[str, ...] = ()  # `[people] names`: the roster; empty when there is none


class Workspace:
    """A workspace folder, named by its root. A plain class rather than a dataclass, whose making
    costs every command start-up time; what it works out from its files is kept on it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"Workspace(root={self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    @classmethod
    def find(cls, option: Path | None) -> Workspace:
        """`--workspace`, else `$DRILL_WORKSPACE`, else the current folder."""
        chosen = option or (Path(os.environ["DRILL_WORKSPACE"]) if os.environ.get("DRILL_WORKSPACE") else Path.cwd())
        if not chosen.is_dir():
            raise UsageError(f"workspace {chosen} is not a folder; pass --workspace DIR or set DRILL_WORKSPACE")
        return cls(chosen.resolve())

    @cached_property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    @cached_property
    def scenarios(self) -> Path:
        return self.root / "scenarios"

    @cached_property
    def logs(self) -> Path:
        return self._followed(self.root / "logs", "logs", self.root)

    @cached_property
    def runs(self) -> Path:
        return self._followed(self.logs / "runs", "runs", self.logs.resolve())

    def _followed(self, path: Path, key: str, within: Path) -> Path:
        """`path`, unless it is a symbolic link out of the workspace that `drill.toml` does not
        name: records written (or read) somewhere nobody chose would be evidence out of reach."""
        if not path.is_symlink():
            return path
        target = path.resolve()
        if any(target == place or place in target.parents for place in (self.root, within)):
            return path
        named = self.config().places.get(key)
        if named is not None and named.resolve() == target:
            return path
        shown = path.relative_to(self.root)
        raise UsageError(
            f"{shown}/ is a symbolic link to {target}, outside the workspace {self.root}; "
            f'follow it by naming that place in drill.toml ([paths] {key} = "{target}"), or make {shown}/ a folder'
        )

    @cached_property
    def seals(self) -> Path:
        return self.logs / "seals"

    def seal_key(self) -> Path:
        """Where the private seal key is: `[integrity] seal_key`, else `logs/keys/seal.key`."""
        return self.config().seal_key or self.logs / "keys" / "seal.key"

    def display_zone(self, chosen: str | None = None) -> str:
        """`chosen` (`--tz`), else `drill.toml` timezone, else UTC; checked to be a known zone."""
        if chosen is not None:  # an empty --tz is refused, not taken for none
            return check_zone(chosen)
        return self.config().timezone  # checked as drill.toml is read

    def run_file(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.jsonl"

    def ensure_dir(self, path: Path) -> Path:
        """Create a folder (and parents under the workspace) as 0750, whatever the umask. Each new
        folder's parent is fsync'd, so the name survives a crash with the files later fsync'd in it
        (an existing folder costs no fsync)."""
        missing = []
        cursor = path
        while not cursor.exists():
            missing.append(cursor)
            cursor = cursor.parent
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=DIR_MODE, exist_ok=True)
                os.chmod(folder, DIR_MODE)
                fsync_folder(folder.parent)
            except OSError as exc:  # a read-only or foreign workspace: one line, not a traceback
                raise RecordError(f"cannot create {self.display(folder)}: {exc.strerror}") from None
        return path

    def display(self, path: Path) -> str:
        """A path as shown in messages: relative to the workspace when inside it, under its own
        name (a link is named, not what it points at)."""
        try:
            return str((path.parent.resolve() / path.name).relative_to(self.root))
        except ValueError:
            return str(path)

    @cached_property
    def _config_file(self) -> str:
        return str(self.root / "drill.toml")

    @cached_property
    def _config_read(self) -> _ConfigRead:
        return _ConfigRead()

    @cached_property
    def memo(self) -> dict[str, object]:
        """What this process made from the workspace's files, by the layer that made it (the
        plans parsed and their models): kept for as long as the process holds this Workspace."""
        return {}

    def notifiers(self) -> tuple[Notifier, ...]:
        """The `[[notify]]` tables of `drill.toml`, or a UsageError naming the first bad one."""
        from drillkit.config.notifiers import parse_notifiers  # 5 ms that commands without notifiers skip

        return parse_notifiers(self.config().notify)

    def store_url(self) -> str | None:
        """Where run records live: `$DRILL_STORE`, else `[store] url`; None for files under `logs/`."""
        from_env = os.environ.get("DRILL_STORE")
        if from_env:
            if not from_env.startswith(STORE_SCHEMES):
                raise UsageError(f"DRILL_STORE must be a postgresql:// URL, e.g. {STORE_EXAMPLE!r} (see docs/team.md)")
            return from_env
        return self.config().store_url

    def config(self) -> Config:
        """`drill.toml`, read again only when the file changes (appends ask on every write).

        A file found missing is asked after with `os.access`, which answers without raising:
        a failing `os.stat` costs an exception, and most workspaces run without the file."""
        name, cached = self._config_file, self._config_read
        if cached.stamp is _MISSING and not os.access(name, os.F_OK):
            return _NO_FILE
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            cached.stamp, cached.config = _MISSING, _NO_FILE
            return _NO_FILE
        if never_read(stat.st_mode):
            raise UsageError(f"drill.toml: {NOT_REGULAR_CONFIG}")
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if cached.stamp == stamp:
            return cached.config
        import tomllib  # here: most workspaces have no drill.toml, and every command starts up

        try:
            data = tomllib.loads(config_text(Path(name)))
        except OSError as exc:
            raise UsageError(f"drill.toml: {unreadable_config(exc)}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"drill.toml: {exc}") from None
        if _has_unknown_keys(data):
            _refuse_first_problem(Path(name), self.root)
        cached.stamp, cached.config = stamp, _config(data, self.root)
        return cached.config


_NO_FILE = Config()
_MISSING = (-1, -1, -1)  # the stamp of a file found missing


class _ConfigRead:
    """`drill.toml` as last read, and the stamp (mtime, size, inode) of the file it was read from."""

    def __init__(self) -> None:
        self.stamp: tuple[int, int, int] | None = None
        self.config = _NO_FILE


BOM = "\ufeff"


def config_text(path: Path) -> str:
    """`drill.toml`'s text, read past a byte-order mark at its start (Windows editors write one;
    plan files are read past it too). TOML forbids the mark, so `tomllib` would refuse the file."""
    return path.read_text(encoding="utf-8").removeprefix(BOM)


def never_read(mode: int) -> bool:
    """Whether a `drill.toml` of this mode is a FIFO, a device or a socket: never read, as a plan
    file that is not a regular file is never read (a read may wait forever). A folder fails at once."""
    return not (S_ISREG(mode) or S_ISDIR(mode))


def _has_unknown_keys(data: dict[str, Any]) -> bool:
    """A misspelt key (`[integrty]`, `patern`) would silently leave records unkeyed or text
    unmasked: every command refuses it, not only `drill validate`."""
    if not data.keys() <= set(TOP_LEVEL):
        return True
    tables = [(data[name], keys) for name, keys in SECTIONS.items() if isinstance(data.get(name), dict)]
    return any(not table.keys() <= set(keys) for table, keys in tables)


def _refuse_first_problem(path: Path, root: Path) -> None:
    from drillkit.config.check import config_problems  # tomllib and the checks: only for a bad file

    problems = config_problems(path, "drill.toml", root)
    raise UsageError(f"{problems[0]}; `drill validate` lists every problem of drill.toml")


def _config(data: dict[str, Any], root: Path) -> Config:
    integrity = _table(data, "integrity")
    key_file, seal_key, seal_public_key = (integrity.get(k) for k in ("key_file", "seal_key", "seal_public_key"))
    for name, value in (("key_file", key_file), ("seal_key", seal_key), ("seal_public_key", seal_public_key)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"drill.toml: [integrity] {name} must be text in quotes; `drill validate` checks the file")
    return Config(
        timezone=_timezone(data.get("timezone", "UTC")),
        redact=tuple(str(p) for p in _list(_table(data, "redact"), "patterns", "[redact] patterns")),
        notify=tuple(_list(data, "notify", "[[notify]]")),
        blackout=tuple(_list(_table(data, "schedule"), "blackout", "[schedule] blackout")),
        key_file=(root / key_file) if key_file else None,
        seal_key=(root / seal_key) if seal_key else None,
        seal_public_key=seal_public_key or None,
        store_url=_store_url(_table(data, "store").get("url")),
        store_lease=_lease(_table(data, "store").get("lease", 10.0)),
        places=_places(_table(data, "paths"), root),
        people=_roster(_table(data, "people")),
    )


def _timezone(value: Any) -> str:
    """`timezone`, checked as the rest of the file is, by every command: a run is never written
    in a workspace whose next command could not show its times."""
    try:
        return check_zone(str(value))
    except UsageError as err:
        raise UsageError(f"drill.toml: timezone: {err}") from None


def _lease(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 3600:
        raise UsageError("drill.toml: [store] lease must be a number of seconds from 1 to 3600")
    return float(value)


def _store_url(value: Any) -> str | None:
    """`[store] url`: a blank or keyword string is refused, never handed to libpq, whose defaults
    (the local server, a database named after the login) would be taken for the team store."""
    if value is not None and (not isinstance(value, str) or not value.startswith(STORE_SCHEMES)):
        raise UsageError(
            f"drill.toml: [store] url must be a postgresql:// URL, e.g. {STORE_EXAMPLE!r};"
            " `drill validate` checks the file"
        )
    return value


def _places(table: dict[str, Any], root: Path) -> dict[str, Path]:
    """`[paths]`: each absolute, or relative to the workspace."""
    if not all(isinstance(value, str) and value for value in table.values()):
        raise UsageError(
            "drill.toml: [paths] logs and runs must be folders' paths in quotes; `drill validate` checks it"
        )
    return {key: root / value for key, value in table.items()}


def _roster(table: dict[str, Any]) -> tuple[str, ...]:
    if "names" not in table:
        return ()
    try:
        return roster_names(table["names"])
    except UsageError as err:
        raise UsageError(f"drill.toml: {err}; `drill validate` checks the file") from None


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise UsageError(f"drill.toml: {name} must be a table ([{name}]); `drill validate` checks the file")
    return value


def _list(data: dict[str, Any], key: str, label: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise UsageError(f"drill.toml: {label} must be a list; `drill validate` checks the file")
    return value


def fsync_folder(folder: Path) -> None:
    """Make a new name in a folder durable (a file or folder made in it survives a crash)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
