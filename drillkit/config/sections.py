"""The keys and tables `drill.toml` may have: one table, read by the workspace and by its checks."""

from drillkit.model.errors import UsageError

TOP_LEVEL = ("timezone", "redact", "notify", "schedule", "integrity", "store", "paths", "people")  # drill.toml's keys
SECTIONS = {
    "redact": ("patterns",),
    "schedule": ("blackout",),
    "integrity": ("key_file", "seal_key", "seal_public_key"),
    "store": ("url", "lease"),
    "paths": ("logs", "runs"),  # where `logs/` or `logs/runs/` may lead, as a symbolic link out of the workspace
    "people": ("names",),
}
STORE_SCHEMES = ("postgresql://", "postgres://")  # what a team store's URL starts with (SPEC §8)
STORE_EXAMPLE = "postgresql://drill@db.noc.example/drill"


def unreadable_config(exc: OSError) -> str:
    return f"cannot read it: {exc.strerror}; drill.toml must be a readable file, or absent"


def roster_names(value: object) -> tuple[str, ...]:
    """`[people] names`: the people who may act in any run, each a person's name, given once."""
    from drillkit.model.names import check_person

    example = "e.g. names = ['alice', 'bob', '王伟']"
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise UsageError(f"[people] names must be a list of names in quotes, {example}")
    names = tuple(check_person(name, "[people] names") for name in value)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"[people] names: {', '.join(twice)} given more than once; name each person once")
    return names
