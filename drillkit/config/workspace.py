"""The workspace folder: where plans live, where records go, and `drill.toml` (SPEC §1)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drillkit.config.sections import SECTIONS, TOP_LEVEL, roster_names, unreadable_config
from drillkit.model.errors import UsageError

if TYPE_CHECKING:
    from drillkit.config.notifiers import Notifier

FILE_MODE = 0o640
DIR_MODE = 0o750


@dataclass(frozen=True, kw_only=True)
class Config:
    """`drill.toml`, all keys optional."""

    timezone: str = "UTC"
    redact: tuple[str, ...] = ()
    notify: tuple[dict[str, Any], ...] = ()
    blackout: tuple[dict[str, Any], ...] = ()
    key_file: Path | None = None
    people: tuple[str, ...] = ()  # `[people] names`: the roster; empty when there is none


@dataclass(frozen=True)
class Workspace:
    root: Path

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
        return self.root / "logs"

    @cached_property
    def runs(self) -> Path:
        return self.logs / "runs"

    def run_file(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.jsonl"

    def ensure_dir(self, path: Path) -> Path:
        """Create a folder (and parents under the workspace) as 0750, whatever the umask."""
        missing = []
        cursor = path
        while not cursor.exists():
            missing.append(cursor)
            cursor = cursor.parent
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(folder, DIR_MODE)
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
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if cached.stamp == stamp:
            return cached.config
        import tomllib  # here: most workspaces have no drill.toml, and every command starts up

        try:
            data = tomllib.loads(Path(name).read_text(encoding="utf-8"))
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


@dataclass
class _ConfigRead:
    """`drill.toml` as last read, and the stamp (mtime, size, inode) of the file it was read from."""

    stamp: tuple[int, int, int] | None = None
    config: Config = _NO_FILE


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
    key_file = _table(data, "integrity").get("key_file")
    if key_file is not None and not isinstance(key_file, str):
        raise UsageError("drill.toml: [integrity] key_file must be a path in quotes; `drill validate` checks the file")
    return Config(
        timezone=str(data.get("timezone", "UTC")),
        redact=tuple(str(p) for p in _list(_table(data, "redact"), "patterns", "[redact] patterns")),
        notify=tuple(_list(data, "notify", "[[notify]]")),
        blackout=tuple(_list(_table(data, "schedule"), "blackout", "[schedule] blackout")),
        key_file=(root / key_file) if key_file else None,
        people=_roster(_table(data, "people")),
    )


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
