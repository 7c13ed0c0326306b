"""The workspace: its paths, `drill.toml` and its checks, notifier settings.

May import: `model`."""
