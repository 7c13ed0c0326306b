"""`-o FILE` for every command that writes a file (SPEC §6): the one place an export reaches disk.

A typo must never destroy evidence (`-o logs/runs/RUN.jsonl`), and a file someone planted must
never redirect a write. So `-o` never writes inside the workspace's `logs/`, never replaces an
existing file without `--force`, never writes through a symbolic link, and writes a temporary file
in the same folder, fsync'd, then moved into place: a reader sees the old file or the whole new one.
What is not a regular file (a pipe, a terminal device) is written into, never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import typer

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.errors import UsageError

_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)  # no hard links here


def output_option() -> Any:
    """`-o FILE`, checked when the command line is read: nothing is built for a refused file."""
    return typer.Option(
        None,
        "-o",
        "--output",
        help="Write to FILE (0640) instead of stdout: never inside logs/, never through a link, "
        "an existing file only with --force.",
        callback=_checked,
    )


def force_option() -> Any:
    """`--force`: read before `-o` (eager), so `-o` is checked knowing it."""
    return typer.Option(False, "--force", is_eager=True, help="Let -o replace an existing file.")


def _checked(ctx: typer.Context, output: Path | None) -> Path | None:
    if output is not None:
        from drillkit.cli.common import workspace

        check_output(workspace(), output, force=bool(ctx.params.get("force")))
    return output


def check_output(ws: Workspace, path: Path, *, force: bool) -> None:
    """A UsageError naming `-o FILE` and what is allowed, unless the file may be written."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise _refused(path, str(exc.strerror), "name a file in a folder that exists and can be written") from None
    if found is not None and stat.S_ISLNK(found.st_mode):
        raise _refused(path, "a symbolic link", "drill never writes through one: name the file itself")
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise _refused(path, "a folder, not a file", "name a file in a folder that exists and can be written")
    _outside_logs(ws, path)
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        reason = "Permission denied" if folder.is_dir() else "No such file or directory"
        raise _refused(path, reason, "name a file in a folder that exists and can be written")
    if found is not None and stat.S_ISREG(found.st_mode) and not force:
        raise _refused(path, "the file exists", "add --force to replace it")


def _outside_logs(ws: Workspace, path: Path) -> None:
    """Records, schedules and seals live under `logs/` (wherever it leads): no export goes there."""
    where = path.parent.resolve() / path.name
    for logs in {ws.root / "logs", ws.logs.resolve()}:
        if where == logs or logs in where.parents:
            raise _refused(path, "inside the workspace's logs/, where the records are kept", "write it elsewhere")


def _refused(path: Path, reason: str, allowed: str) -> UsageError:
    return UsageError(f"-o {path}: {reason}; {allowed}")


def write_output(ws: Workspace, path: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `path` as 0640 whatever the umask, by the rules above (checked again:
    the file may have appeared since the command line was read)."""
    check_output(ws, path, force=force)
    try:
        found = path.lstat()
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        _write_into(path, data)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _write_new(temporary, data)
        _move_into_place(temporary, path, force=force)
    except OSError as exc:
        raise _refused(path, str(exc.strerror), "name a file in a folder that exists and can be written") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_into_folder(ws: Workspace, folder: Path, files: list[tuple[str, bytes]], *, force: bool) -> list[Path]:
    """Several named files in `folder` (made when missing), by the rules above: every one is
    checked before any is written, so a refused one leaves nothing behind."""
    targets = [(folder / name, data) for name, data in files]
    for path, _ in targets:
        _outside_logs(ws, path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refused(folder, str(exc.strerror), "name a folder that can be made and written") from None
    for path, _ in targets:
        check_output(ws, path, force=force)
    for path, data in targets:
        write_output(ws, path, data, force=force)
    return [path for path, _ in targets]


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(temporary: Path, path: Path, *, force: bool) -> None:
    """A rename, which replaces a file (or a link, never what it points at) only with `force`;
    without it a hard link, which fails when anything has taken the name meanwhile."""
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise _refused(path, "the file exists", "add --force to replace it") from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if os.path.lexists(path):
            raise _refused(path, "the file exists", "add --force to replace it") from None
        os.rename(temporary, path)


def _write_into(path: Path, data: bytes) -> None:
    """A pipe or a device: written into (never followed if it became a link since the check)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _refused(path, str(exc.strerror), "name a file in a folder that exists and can be written") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
