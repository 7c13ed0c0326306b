"""The keys and tables `drill.toml` may have: one table, read by the workspace and by its checks."""

TOP_LEVEL = ("timezone", "redact", "notify", "schedule", "integrity", "store", "paths")  # the keys of drill.toml
SECTIONS = {
    "redact": ("patterns",),
    "schedule": ("blackout",),
    "integrity": ("key_file", "seal_key", "seal_public_key"),
    "store": ("url", "lease"),
    "paths": ("logs", "runs"),  # where `logs/` or `logs/runs/` may lead, as a symbolic link out of the workspace
}


def unreadable_config(exc: OSError) -> str:
    return f"cannot read it: {exc.strerror}; drill.toml must be a readable file, or absent"
