"""Writing one setting into `drill.toml` (as `drill keys init` does), keeping the rest of the file as it is."""

from __future__ import annotations

import errno
import os
import re
import tomllib
from pathlib import Path

from drillkit.config.workspace import BOM, FILE_MODE, fsync_folder
from drillkit.model.errors import UsageError

_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def add_setting(path: Path, table: str, key: str, value: str) -> None:
    """`key = "value"` added to `[table]` (the table made at the end when absent); refused when
    the key is already set. Written through a temporary file renamed into place."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    mark, text = (BOM, text[1:]) if text.startswith(BOM) else ("", text)  # kept as the file had it
    current = tomllib.loads(text).get(table, {}) if text else {}
    if key in current:
        raise UsageError(f"{path.name}: [{table}] {key} is already set; remove it first to replace it")
    line = f'{key} = "{value}"'
    lines = text.splitlines()
    header = next((i for i, s in enumerate(lines) if (m := _TABLE.match(s)) and m.group(1).strip() == table), None)
    if header is None:
        lines += [*([""] if lines else []), f"[{table}]", line]
    else:
        lines.insert(header + 1, line)
    updated = "\n".join(lines) + "\n"
    tomllib.loads(updated)  # what is written still reads
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    mode = path.stat().st_mode & 0o777 if path.exists() else FILE_MODE
    data = (mark + updated).encode()
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        try:
            os.fchmod(fd, mode)
            if os.write(fd, data) != len(data):  # a full disk writes part of it
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"{path.name}: cannot write it: {exc.strerror}; it is left as it was") from None
    fsync_folder(path.parent)  # the new name survives a crash
