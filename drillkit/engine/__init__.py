"""A run as a pure function of its record: replay into a `RunState`, decide a command, what comes
due, metrics and status. `machine.py` is the only user of `transitions`. May import: `store`, `plans`,
`config`, `model`."""
