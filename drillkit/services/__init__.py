"""Use cases: open, act, check…, start, resume, simulate, the conductor, the scheduler daemon (the only
APScheduler user), status, report, coverage, the catalog. May import every layer but `cli`."""
