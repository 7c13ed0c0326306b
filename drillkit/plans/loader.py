"""Strict YAML → models, with every problem mapped to FILE:LINE:COLUMN (SPEC §2, last rule).

The YAML is read as a stream of parser events, not through a constructor: one document, at
most 1 MiB and 32 levels deep, no anchors, aliases or tags, no duplicate keys, every scalar a
string. Nothing in a file can name code to run, and nothing can recurse or expand without
bound. The resulting plain tree carries the mark of every node so that pydantic's error
locations and our own checks can point at the line and column they are about.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from drillkit.model.errors import InvalidFile, Problem
from drillkit.model.planfiles import FROM_FILE
from drillkit.model.plans import FILE_ID_PATTERN

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_PROBLEMS = 200  # per file: a file with 60,000 stray keys says so in 201 lines, not 60,000
_PLAIN_TAGS = {None}  # any tag, even `!!str`, is refused: the file means what it looks like
_Loader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class Document:
    """A parsed file: the plain tree and the (line, column) of each node, 1-based."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[int, int]:
        """The mark of the longest prefix of `path` that exists in the file."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return mark
        return (1, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        line, column = self.where(path)
        return Problem(file=self.file, line=line, column=column, message=message)


class _YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def _at(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def read_document(path: Path, display: str | None = None) -> Document:
    """Read one YAML file strictly; InvalidFile (one problem) if it breaks a rule."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidFile([Problem(file=name, line=1, column=1, message=f"cannot read: {exc.strerror}")]) from None
    try:
        return Document(name, *_parse(raw))
    except _YamlProblem as bad:
        raise InvalidFile([Problem(file=name, line=bad.line, column=bad.column, message=bad.message)]) from None


def parse_text(text: str, name: str) -> Document:
    """Text about to be written as a plan file, read by the same strict rules as the file will be."""
    try:
        return Document(name, *_parse(text.encode("utf-8")))
    except _YamlProblem as bad:
        raise InvalidFile([Problem(file=name, line=bad.line, column=bad.column, message=bad.message)]) from None


def _parse(raw: bytes) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    if len(raw) > MAX_BYTES:
        raise _YamlProblem(1, 1, f"file is {len(raw)} bytes; at most {MAX_BYTES} (1 MiB) are allowed")
    text = _decode(raw)
    try:
        return _build(text)
    except yaml.MarkedYAMLError as exc:
        line, column = _at(exc.problem_mark) if exc.problem_mark else (1, 1)
        raise _YamlProblem(line, column, f"YAML syntax: {_syntax_problem(exc, text, line, column)}") from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, and a message of two lines
        line, column = _place(text, text.find(chr(exc.character)))
        raise _YamlProblem(line, column, f"YAML syntax: character #x{exc.character:04x}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise _YamlProblem(1, 1, f"YAML syntax: {exc}") from None


TAB_INDENT = "found a tab character where YAML allows only spaces: indent with spaces"


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, line: int, column: int) -> str:
    """PyYAML's words, but for a tab at the place: it says "found character that cannot start any
    token" of a tab that indents a line, which names neither the tab nor what is allowed."""
    lines = text.splitlines()
    at_tab = line <= len(lines) and lines[line - 1][column - 1 : column] == "\t"
    return TAB_INDENT if at_tab else str(exc.problem)


def _place(text: str, index: int) -> tuple[int, int]:
    """Line and column of the character at `index` (1:1 when it was not found)."""
    if index < 0:
        return (1, 1)
    return (text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _YamlProblem(line, column, "file is not valid UTF-8 text") from None


def _build(text: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """The tree of one file, its events taken straight from the parser: `yaml.parse` would put
    a generator between them, a frame resumed per event."""
    loader = _Loader(text)
    try:
        return _Builder(iter(loader.get_event, None)).build()
    finally:
        loader.dispose()


class _Builder:
    """Builds the plain tree from parser events, enforcing the strict rules as it goes.

    Every node of every file passes through here (`drill validate` reads them all): events are
    told apart by their exact class, and a node's mark is made only when it is recorded."""

    def __init__(self, events: Iterator[yaml.Event]) -> None:
        self.events = events
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.documents = 0

    def build(self) -> tuple[Any, dict[Path_, tuple[int, int]]]:
        data: Any = None
        for event in self.events:
            if type(event) is DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise _YamlProblem(*_at(event.start_mark), "only one YAML document is allowed")
            elif isinstance(event, NodeEvent):
                data = self._node(event, (), 1)
        if self.documents == 0 or data is None:
            raise _YamlProblem(1, 1, "file is empty: expected a mapping")
        return data, self.marks

    def _node(self, event: yaml.Event, path: Path_, depth: int) -> Any:
        self._check_plain(event, depth)
        self.marks[path] = _at(event.start_mark)
        return self._value(event, path, depth)

    def _value(self, event: yaml.Event, path: Path_, depth: int) -> Any:
        """A checked node's value; its mark is already recorded."""
        if type(event) is ScalarEvent:
            return event.value
        if type(event) is SequenceStartEvent:
            return self._sequence(path, depth)
        return self._mapping(path, depth)

    def _check_plain(self, event: yaml.Event, depth: int) -> None:
        if type(event) is AliasEvent:
            raise _YamlProblem(*_at(event.start_mark), "aliases (*name) are not allowed")
        if depth > MAX_DEPTH:
            raise _YamlProblem(*_at(event.start_mark), f"nesting is deeper than {MAX_DEPTH} levels")
        if getattr(event, "anchor", None) is not None:
            raise _YamlProblem(*_at(event.start_mark), "anchors (&name) are not allowed")
        tag = getattr(event, "tag", None)
        if tag not in _PLAIN_TAGS:
            raise _YamlProblem(*_at(event.start_mark), f"tags ({tag}) are not allowed")

    def _sequence(self, path: Path_, depth: int) -> list[Any]:
        items: list[Any] = []
        for event in self.events:
            if type(event) is SequenceEndEvent:
                return items
            items.append(self._node(event, (*path, len(items)), depth + 1))
        raise _YamlProblem(1, 1, "unexpected end of file")  # pragma: no cover - parser reports first

    def _mapping(self, path: Path_, depth: int) -> dict[str, Any]:
        """A mapping; each value's mark is its key's, so that a problem with it points at the key."""
        result: dict[str, Any] = {}
        for event in self.events:
            if type(event) is MappingEndEvent:
                return result
            key = self._key(event, depth)
            if key in result:
                raise _YamlProblem(*_at(event.start_mark), f"duplicate key {key!r}")
            place = (*path, key)
            self.marks[place] = _at(event.start_mark)
            value = next(self.events)
            self._check_plain(value, depth + 1)
            result[key] = self._value(value, place, depth + 1)
        raise _YamlProblem(1, 1, "unexpected end of file")  # pragma: no cover - parser reports first

    def _key(self, event: yaml.Event, depth: int) -> str:
        self._check_plain(event, depth + 1)
        if type(event) is not ScalarEvent:
            raise _YamlProblem(*_at(event.start_mark), "keys must be plain strings")
        return str(event.value)


def to_model(doc: Document, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Validate the tree against a model; every schema problem with its place."""
    if not isinstance(doc.data, dict):
        return None, [doc.problem((), "expected a mapping at the top level")]
    try:
        return model.model_validate(doc.data, context=FROM_FILE), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = [_schema_problem(doc, error) for error in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        problems.append(doc.problem((), f"... and {len(errors) - MAX_PROBLEMS} more problems in this file"))
    return None, problems


def _schema_problem(doc: Document, error: Any) -> Problem:
    loc: Path_ = tuple(part for part in error["loc"] if part != "[key]")
    where = ".".join(str(part) for part in loc) or "file"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = f"{where}: {_id_rule(error['input'], error['ctx']['pattern'])}"
    elif error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif error["type"] == "missing":
        message = f"missing key {loc[-1]!r}"
    else:
        message = f"{where}: {message}"
    return doc.problem(loc, message)


def _id_rule(value: object, pattern: str) -> str:
    if pattern == FILE_ID_PATTERN:
        return f"{value!r} is not a valid file id: use lowercase letters, digits and '-'"
    return f"{value!r} is not a valid id: use letters (any script), digits, '_' and '-'; start with a letter or digit"
