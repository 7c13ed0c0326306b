"""The `drill` command line: parse, make one call, render, map errors to exit codes. The top layer:
may import every other; nothing imports it.

The command modules do without `from __future__ import annotations`: typer reads every
command's signature on each start, and string annotations would cost it an eval apiece (some
2.5 ms a command). Names imported only for type checking are quoted instead.

Every command module is imported on each start and each TAB completion, so a command imports
the services, renderers and plans it calls (pydantic, structlog, orjson behind them: tens of
ms, measured with `python -X importtime`) inside its own body; the small values of `model/` are
imported at the top.
"""
