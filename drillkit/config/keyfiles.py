"""Key files named in `drill.toml` (the HMAC key, the seal key): read with care, since a path
there may name anything."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from stat import S_ISREG

KEY_FILE_LIMIT = 64 * 1024  # bytes: a key file is a few dozen; anything larger is not one


def read_key_file(path: Path) -> bytes:
    """The bytes of a key file. A FIFO, a device or a socket is never read (a read may wait
    forever, or never end: /dev/zero), nor is a file past `KEY_FILE_LIMIT`: each is an `OSError`
    whose `strerror` says so, as an unreadable file's does."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO's open waits for no writer
    try:
        if not S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        data = _read_past(fd, KEY_FILE_LIMIT)
    finally:
        os.close(fd)
    if len(data) > KEY_FILE_LIMIT:
        raise OSError(errno.EFBIG, f"larger than {KEY_FILE_LIMIT // 1024} KiB, not a key")
    return data


def _read_past(fd: int, limit: int) -> bytes:
    """What `fd` holds, read to its end or to one byte past `limit`, whichever comes first."""
    data = b""
    while len(data) <= limit and (chunk := os.read(fd, limit + 1 - len(data))):
        data += chunk
    return data
