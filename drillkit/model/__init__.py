"""Frozen values: playbooks and scenarios, typed events, durations, names, the clock, blackout
windows, redaction and the error tree. Imports nothing of drillkit: every other layer stands on it."""
