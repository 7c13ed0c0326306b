"""Where a write came from (SPEC §5): who typed the command, on which host, and the one `req`
id every event it writes carries, so a claimed `--by` can be checked against who typed it and a
store can recognise a retried write."""

from __future__ import annotations

import getpass
import os
from functools import cache
from typing import Any, NamedTuple


def new_req() -> str:
    """A fresh `req`: 64 random bits as 16 lowercase hex digits, one per command's write (from
    the system's random source, as `secrets` draws them; that module costs more to import)."""
    return os.urandom(8).hex()


def login_name() -> str:
    """The operating system's name for who runs this process (a uid when it has none)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user without a passwd entry
        return f"uid {os.getuid()}"


@cache
def local_origin() -> dict[str, str]:
    """`origin` for events this process writes: its login name and host name."""
    return {"user": login_name(), "host": os.uname().nodename}  # what socket.gethostname() asks


class Provenance(NamedTuple):
    """What a store adds to every event of one write: `origin` (none for a simulation) and `req`."""

    req: str
    origin: dict[str, str] | None

    @classmethod
    def here(cls) -> Provenance:
        """A new write by this process, on this host."""
        return cls(req=new_req(), origin=local_origin())

    @classmethod
    def simulated(cls) -> Provenance:
        """A simulation's write: nobody typed it, so it names no origin."""
        return cls(req=new_req(), origin=None)

    def fields(self) -> dict[str, Any]:
        """The fields added to each event, in record order."""
        if self.origin is None:
            return {"req": self.req}
        return {"origin": dict(self.origin), "req": self.req}
