"""People's names as the record keeps them: who acts (`--by`) and who is given a role."""

from __future__ import annotations

import unicodedata

from drillkit.model.errors import UsageError

_CONTROL = frozenset({"Cc", "Zl", "Zp"})  # control characters and line/paragraph separators


def check_name(value: str, label: str) -> str:
    """`value` without surrounding blanks, or a UsageError naming `label` and what a name may hold."""
    categories = {unicodedata.category(char) for char in value}
    if "Cs" in categories:
        raise UsageError(f"{label} {value!r}: is not valid UTF-8 text")
    if categories & _CONTROL:
        raise UsageError(f"{label} {value!r}: a name may not hold control characters such as newlines or tabs")
    if not value.strip():
        raise UsageError(f"{label} {value!r}: a name needs at least one visible character")
    return value.strip()


# The names drill itself writes as actors, and the superuser: never a person's name.
RESERVED = frozenset({"root", "system", "scheduler", "simulation"})


def check_person(value: str, label: str) -> str:
    """A person's name (`check_name`) that is not one of drill's own actors or the superuser."""
    name = check_name(value, label)
    if name.lower() in RESERVED:
        raise UsageError(f"{label} {name!r}: a system account or drill's own actor, not a person; name a person")
    return name
