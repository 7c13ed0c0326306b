"""The performance harness: every figure as a ratio to a floor measured in the same run."""
