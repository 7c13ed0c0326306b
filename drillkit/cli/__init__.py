"""The `drill` command line: parse, make one call, render, map errors to exit codes."""
