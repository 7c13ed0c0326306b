"""`drill validate` for `drill.toml` (SPEC §1): every problem, each placed at its key's line.

Commands read `drill.toml` through `Workspace.config()` and stop at its first problem; this
module reads the file as written and reports all of them as `drill.toml:LINE:COLUMN: message`,
the line found by a plain search for the key (1:1 when it cannot be found).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from drillkit.config.keyfiles import read_key_file
from drillkit.config.sections import SECTIONS, STORE_SCHEMES, TOP_LEVEL, roster_names, unreadable_config
from drillkit.config.workspace import config_text
from drillkit.model.blackouts import parse_blackouts
from drillkit.model.errors import Problem, UsageError
from drillkit.model.redact import extra_pattern
from drillkit.model.timefmt import check_zone

_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[")
SEAL_PUBLIC_KEY = re.compile(r"[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}")


def config_problems(path: Path, shown: str, root: Path) -> list[Problem]:
    """Every problem of the `drill.toml` at `path` (none when there is no such file), in line order."""
    try:
        text = config_text(path)
        data = tomllib.loads(text)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [Problem(file=shown, line=1, column=1, message=unreadable_config(exc))]
    except UnicodeDecodeError:
        return [Problem(file=shown, line=1, column=1, message="not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_place(str(exc), text)
        return [
            Problem(file=shown, line=line, column=column, message=f"not valid TOML: {_AT.sub('', str(exc)).strip()}")
        ]
    check = _Check(text.splitlines(), shown, root)
    check.run(data)
    return sorted(check.problems, key=lambda p: (p.line, p.column))


def _toml_place(message: str, text: str) -> tuple[int, int]:
    """Where tomllib says the error is: its line and column, or the file's end for an error it
    finds "at end of document" (an unclosed list, a table declared twice), where 1:1 would mislead."""
    at = _AT.search(message)
    if at:
        return int(at[1]), int(at[2])
    if "at end of document" in message:
        lines = text.splitlines() or [""]
        return len(lines), len(lines[-1]) + 1
    return 1, 1


class _Check:
    def __init__(self, lines: list[str], shown: str, root: Path) -> None:
        self.lines, self.shown, self.root = lines, shown, root
        self.problems: list[Problem] = []

    def add(self, where: tuple[int, int], message: str) -> None:
        self.problems.append(Problem(file=self.shown, line=where[0], column=where[1], message=message))

    def run(self, data: dict[str, Any]) -> None:
        for key in data:
            if key not in TOP_LEVEL:
                self.add(self.find(key), f"unknown key {key!r}; allowed: {', '.join(TOP_LEVEL)}")
        zone = self.timezone(data.get("timezone"))
        for section, known in SECTIONS.items():
            self.table(data.get(section), section, known)
        self.patterns(_in(data, "redact", "patterns"))
        self.blackout(_in(data, "schedule", "blackout"), zone)
        self.key_file(_in(data, "integrity", "key_file"))
        self.seal_settings(_in(data, "integrity", "seal_key"), _in(data, "integrity", "seal_public_key"))
        self.store_url(_in(data, "store", "url"))
        lease = _in(data, "store", "lease")
        if lease is not None and (
            isinstance(lease, bool) or not isinstance(lease, int | float) or not 1 <= lease <= 3600
        ):
            self.add(self.find("lease", "store"), "[store] lease must be a number of seconds from 1 to 3600")
        for key in SECTIONS["paths"]:
            self.place(key, _in(data, "paths", key))
        self.people(_in(data, "people", "names"))
        if "notify" in data:
            self.notify(data["notify"])

    def table(self, value: Any, section: str, known: tuple[str, ...]) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.add(self.find(section), f"{section} must be a table: [{section}]")
            return
        for key in value:
            if key not in known:
                self.add(self.find(key, section), f"[{section}] unknown key {key!r}; allowed: {', '.join(known)}")

    def timezone(self, value: Any) -> str:
        """The default zone for blackout windows: the configured one when it is known, else UTC."""
        if value is None:
            return "UTC"

        if not isinstance(value, str):
            self.add(self.find("timezone"), "timezone must be an IANA zone name such as 'Asia/Shanghai'")
            return "UTC"
        try:
            return check_zone(value)
        except UsageError as err:
            self.add(self.find("timezone"), str(err))
            return "UTC"

    def patterns(self, value: Any) -> None:
        if value is None:
            return
        where = self.find("patterns", "redact")
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            self.add(where, "[redact] patterns must be a list of regular expressions, e.g. patterns = ['工单号\\d{8}']")
            return
        for pattern in value:
            try:
                extra_pattern(pattern)
            except UsageError as err:
                self.add(where, _unprefixed(err))

    def blackout(self, value: Any, zone: str) -> None:
        if value is None:
            return

        where = self.find("blackout", "schedule")
        if not isinstance(value, list):
            self.add(
                where, "[schedule] blackout must be a list of windows, e.g. blackout = [{from = '00:00', to = '06:00'}]"
            )
            return
        try:
            parse_blackouts(tuple(value), zone)
        except UsageError as err:
            self.add(where, _unprefixed(err))

    def key_file(self, value: Any) -> None:
        if value is None:
            return
        where = self.find("key_file", "integrity")
        if not isinstance(value, str) or not value:
            self.add(where, "[integrity] key_file must be a path to the HMAC key, relative to the workspace")
        elif not (self.root / value).exists():
            self.add(where, f"[integrity] key_file {value!r}: no such file (relative to the workspace)")
        else:
            self._key_readable(where, value)

    def seal_settings(self, key: Any, public: Any) -> None:
        """The seal key's path and the public key's form (`NAME+KEYID+KEY`, as `drill keys init` writes it)."""
        if key is not None and (not isinstance(key, str) or not key):
            where = self.find("seal_key", "integrity")
            self.add(where, "[integrity] seal_key must be a path, relative to the workspace")
        if public is not None and (not isinstance(public, str) or not SEAL_PUBLIC_KEY.fullmatch(public)):
            self.add(
                self.find("seal_public_key", "integrity"),
                "[integrity] seal_public_key must be the NAME+KEYID+KEY line `drill keys init` printed",
            )

    def store_url(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value.startswith(STORE_SCHEMES):
            self.add(
                self.find("url", "store"), "[store] url must be a postgresql:// URL, e.g. 'postgresql://drill@db/drill'"
            )

    def place(self, key: str, value: Any) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            self.add(
                self.find(key, "paths"), f"[paths] {key} must be a folder's path in quotes, e.g. '/srv/drill/{key}'"
            )

    def _key_readable(self, where: tuple[int, int], value: str) -> None:
        try:
            key = read_key_file(self.root / value).strip()
        except OSError as exc:
            self.add(where, f"[integrity] key_file {value!r}: cannot read it: {exc.strerror}")
            return
        if not key:
            self.add(where, f"[integrity] key_file {value!r} is empty: records would not be keyed")

    def people(self, value: Any) -> None:
        if value is None:
            return
        try:
            roster_names(value)
        except UsageError as err:
            self.add(self.find("names", "people"), str(err))

    def notify(self, value: Any) -> None:
        from drillkit.config.notifiers import checked_notifiers

        if not isinstance(value, list):
            self.add(self.find("notify"), "notify must be an array of tables: one [[notify]] per notifier")
            return
        for number, problem in checked_notifiers(value)[1]:
            self.add(self.nth_notifier(number), _unprefixed(problem))

    def nth_notifier(self, number: int) -> tuple[int, int]:
        """The `[[notify]]` header of the number-th notifier, else the `notify` key."""
        headers = [i for i, line in enumerate(self.lines, 1) if re.match(r"\s*\[\[\s*notify\s*\]\]", line)]
        if len(headers) >= number:
            return headers[number - 1], self.lines[headers[number - 1] - 1].index("[") + 1
        return self.find("notify")

    def find(self, key: str, section: str | None = None) -> tuple[int, int]:
        """Line and column of `key` (in `[section]` when given) by a plain search; 1:1 when not found."""
        name = rf"""["']?{re.escape(key)}["']?"""
        if section is None:  # a key before the first table, or a table's own header anywhere
            assigned = self._search([rf"^\s*({name})\s*[=.]"], self._top_level())
            return assigned or self._search([rf"^\s*\[\[?\s*({name})\s*[\].]"], range(len(self.lines))) or (1, 1)
        header = self._search([rf"^\s*\[\s*({re.escape(section)})\s*\]"], range(len(self.lines)))
        if header is not None:
            return self._search([rf"^\s*({name})\s*="], self._body(header[0])) or header
        dotted = [rf"^\s*{re.escape(section)}\s*\.\s*({name})\s*=", rf"^\s*({re.escape(section)})\s*="]
        return self._search(dotted, self._top_level()) or (1, 1)

    def _top_level(self) -> range:
        """The lines before the first table header."""
        return range(next((i for i, line in enumerate(self.lines) if _HEADER.match(line)), len(self.lines)))

    def _body(self, header_line: int) -> range:
        """The lines of the table whose header is on `header_line` (1-based)."""
        end = next((i for i in range(header_line, len(self.lines)) if _HEADER.match(self.lines[i])), len(self.lines))
        return range(header_line, end)

    def _search(self, patterns: list[str], indices: range) -> tuple[int, int] | None:
        for pattern in patterns:
            for i in indices:
                match = re.match(pattern, self.lines[i])
                if match:
                    return i + 1, match.start(1) + 1
        return None


def _in(data: dict[str, Any], section: str, key: str) -> Any:
    table = data.get(section)
    return table.get(key) if isinstance(table, dict) else None


def _unprefixed(err: UsageError) -> str:
    """The message without its leading `drill.toml` (the problem's place names the file)."""
    return re.sub(r"^drill\.toml:?\s*", "", str(err))
