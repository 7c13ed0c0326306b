"""Finding, loading and validating the workspace's playbooks and scenarios."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from stat import S_ISDIR
from typing import Any, TypeVar

from drillkit.config.workspace import NOT_REGULAR_CONFIG, Workspace, never_read
from drillkit.model import planfiles
from drillkit.model.errors import InvalidFile, NotFound, Problem, UsageError
from drillkit.model.planfiles import Scenario
from drillkit.model.plans import Playbook
from drillkit.plans.checks import check_playbook, check_scenario
from drillkit.plans.loader import Document, parse_text, read_document, to_model

T = TypeVar("T")


class UnreadableFolder(UsageError):
    """`playbooks/` or `scenarios/` there but not to be listed: never taken for a folder without plans."""

    def __init__(self, folder: str, exc: OSError) -> None:
        self.folder = f"{folder}/"
        self.reason = f"cannot read it: {exc.strerror}; {self.folder} must be a folder drill can read, or absent"
        super().__init__(f"{self.folder}: {self.reason}")

    def problem(self) -> Problem:
        """The folder as `drill validate` names it: FILE:LINE:COLUMN, as every problem it prints."""
        return Problem(file=self.folder, line=1, column=1, message=self.reason)


@dataclass(frozen=True)
class Plans:
    """The plans of one workspace."""

    ws: Workspace

    def playbook_ids(self) -> list[str]:
        return sorted(p.stem for p in self._files(self.ws.playbooks))

    def scenario_ids(self) -> list[str]:
        return sorted(p.stem for p in self._files(self.ws.scenarios))

    def playbook(self, playbook_id: str) -> Playbook:
        """A valid playbook by id; NotFound or InvalidFile otherwise."""
        path = self.ws.playbooks / f"{playbook_id}.yaml"
        if not _safe_id(playbook_id) or not self._listed(path):
            raise NotFound(f"no playbook {playbook_id!r}; available: {', '.join(self.playbook_ids()) or '(none)'}")
        self._check_regular(path)
        found, problems = self._load_playbook(path)
        if found is None or problems:
            raise InvalidFile(problems)
        return found

    def scenario(self, scenario_id: str) -> tuple[Scenario, Playbook]:
        """A valid scenario and its playbook by id."""
        path = self.ws.scenarios / f"{scenario_id}.yaml"
        if not _safe_id(scenario_id) or not self._listed(path):
            raise NotFound(f"no scenario {scenario_id!r}; available: {', '.join(self.scenario_ids()) or '(none)'}")
        self._check_regular(path)
        found, playbook, problems = self._load_scenario(path)
        if found is None or playbook is None or problems:
            raise InvalidFile(problems)
        return found, playbook

    def scenario_text_problems(self, text: str, path: Path) -> list[Problem]:
        """What `drill validate` would say of `text` written to `path`, with the workspace's playbooks."""
        doc = parse_text(text, self.ws.display(path))
        found, problems = to_model(doc, Scenario)
        if found is None:
            return problems
        return list(_scenario_problems(doc, found, self._playbook_or_why(found.playbook), path.stem))

    def loadable(self, scenario_ids: Iterable[str]) -> dict[str, tuple[Scenario, Playbook]]:
        """The given scenarios that load, with their playbooks; the others are left out
        (`drill validate` names what is wrong with them)."""
        found = {}
        for scenario_id in scenario_ids:
            try:
                found[scenario_id] = self.scenario(scenario_id)
            except (NotFound, InvalidFile):
                continue
        return found

    def nothing_found(self) -> str | None:
        """Why a check of the whole workspace checked nothing, naming where it looked; `None`
        when there are plans (a workspace chosen by mistake must not read as valid)."""
        if self.playbook_ids() or self.scenario_ids():
            return None
        return (
            f"no playbooks or scenarios found: looked for {self.ws.playbooks / '*.yaml'} and"
            f" {self.ws.scenarios / '*.yaml'} (the workspace is --workspace DIR, else $DRILL_WORKSPACE,"
            " else the current folder)"
        )

    def validate(self, paths: Iterable[Path] = ()) -> list[Problem]:
        """Every problem in the given files and folders (default: the whole workspace with
        `drill.toml`), in file order."""
        chosen = list(paths)
        if not chosen:
            return self._config_problems() + self._folder_problems(self.ws.playbooks, self.ws.scenarios)
        problems = []
        for path in chosen:
            problems.extend(self._folder_problems(path, named=True) if path.is_dir() else self._validate_one(path))
        return problems

    def _folder_problems(self, *folders: Path, named: bool = False) -> list[Problem]:
        """The problems of every plan file (`*.yaml`) directly in `folders`, as the workspace's own
        folders are read (subfolders are not plans). A folder named on the command line with no plan
        file in it is a problem: a wrong folder must not read as valid."""
        problems = []
        for folder in folders:
            try:
                files = sorted(self._files(folder))
            except UnreadableFolder as unreadable:
                problems.append(unreadable.problem())
                continue
            if named and not files:
                problems.append(self._no_plans_in(folder))
            for path in files:
                problems.extend(self._validate_one(path))
        return problems

    def _no_plans_in(self, folder: Path) -> Problem:
        message = (
            "no plan files (*.yaml) directly in this folder; name a folder of playbooks or scenarios,"
            " or files, or run `drill validate` alone for the whole workspace"
        )
        return Problem(file=f"{self.ws.display(folder)}/", line=1, column=1, message=message)

    def _files(self, folder: Path) -> list[Path]:
        """The folder's `*.yaml` files; none when there is no folder. Listed with `os.listdir`,
        which raises where `Path.glob` passes over a folder it cannot open."""
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UnreadableFolder(self.ws.display(folder), exc) from None
        return [folder / name for name in names if name.endswith(".yaml")]

    def _listed(self, path: Path) -> bool:
        """Whether a plan file is there to list, even if it cannot be read (a dangling link, a folder)."""
        try:
            return path.exists() or path.is_symlink()
        except OSError as exc:  # its folder cannot be searched
            raise UnreadableFolder(self.ws.display(path.parent), exc) from None

    def _config_problems(self) -> list[Problem]:
        from drillkit.config.check import config_problems

        path = self.ws.root / "drill.toml"
        if _special_file(path):
            return [Problem(file=self.ws.display(path), line=1, column=1, message=NOT_REGULAR_CONFIG)]
        return config_problems(path, self.ws.display(path), self.ws.root)

    def _validate_one(self, path: Path) -> list[Problem]:
        """One file's problems, parsed past the cache: a pass over every file would keep every
        tree alive for nothing (1,000 playbooks: some 40 MB, and a quarter of the time)."""
        if not _is_file(path):
            return [self._not_regular(path)]
        try:
            if self._is_scenario(path):
                return self._load_scenario(path, cached=False)[2]
            return self._load_playbook(path, cached=False)[1]
        except UnreadableFolder as unreadable:  # the folder of a scenario's playbook
            return [Problem(file=self.ws.display(path), line=1, column=1, message=str(unreadable))]

    def _check_regular(self, path: Path) -> None:
        if not path.is_file():
            raise InvalidFile([self._not_regular(path)])

    def _not_regular(self, path: Path) -> Problem:
        """Why a plan path that is not a regular file cannot be read (never read: it may be a
        device that never ends)."""
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            reason = str(exc.strerror).lower()  # no such file, a dangling link, a loop of links
        else:
            reason = "a folder, not a file" if S_ISDIR(mode) else "not a regular file"
        return Problem(file=self.ws.display(path), line=1, column=1, message=f"cannot read: {reason}")

    def _is_scenario(self, path: Path) -> bool:
        folder = path.resolve().parent
        if folder == self._scenarios_folder:
            return True
        if folder == self._playbooks_folder:
            return False
        head = path.read_bytes()[:4096].decode("utf-8", "replace")
        return any(line.startswith("scenario:") for line in head.splitlines())

    @property
    def _made(self) -> _Made:
        """What this process parsed and made from the plan files, held by the workspace: one
        `Plans` serves one call, a workspace the whole command, conductor or scheduler."""
        made = self.ws.memo.get("plans")
        if not isinstance(made, _Made):
            made = self.ws.memo["plans"] = _Made()
        return made

    @cached_property
    def _scenarios_folder(self) -> Path:
        """Resolved once: `validate` asks for every file (a `Plans` serves one call)."""
        return self.ws.scenarios.resolve()

    @cached_property
    def _playbooks_folder(self) -> Path:
        return self.ws.playbooks.resolve()

    def _document(self, path: Path) -> tuple[Document | None, list[Problem]]:
        """The parsed file, parsed again only when it changes (a conductor or scheduler asks often)."""
        try:
            stat = path.stat()
        except OSError:
            return self._parse(path)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        parsed = self._made.parsed
        cached = parsed.get(str(path))
        if cached is None or cached[0] != stamp:
            cached = parsed[str(path)] = (stamp, self._parse(path))
        document, problems = cached[1]
        return document, list(problems)  # the caller's own list: the cached one is never handed out

    def _parse(self, path: Path) -> tuple[Document | None, list[Problem]]:
        try:
            return read_document(path, self.ws.display(path)), []
        except InvalidFile as bad:
            return None, bad.problems

    def _load_playbook(self, path: Path, *, cached: bool = True) -> tuple[Playbook | None, list[Problem]]:
        doc, problems = self._document(path) if cached else self._parse(path)
        if doc is None:
            return None, problems
        found, problems = self._made.once(path, "model", (doc,), lambda: _plan_of(doc), keep=cached)
        if found is None:
            return None, list(problems)
        problems_of = partial(_playbook_problems, doc, found, path.stem)
        return found, list(self._made.once(path, "checks", (doc,), problems_of, keep=cached))

    def _load_scenario(
        self, path: Path, *, cached: bool = True
    ) -> tuple[Scenario | None, Playbook | None, list[Problem]]:
        doc, problems = self._document(path) if cached else self._parse(path)
        if doc is None:
            return None, None, problems
        found, problems = self._made.once(path, "model", (doc,), lambda: to_model(doc, Scenario), keep=cached)
        if found is None:
            return None, None, list(problems)
        playbook = self._playbook_or_why(found.playbook)
        problems_of = partial(_scenario_problems, doc, found, playbook, path.stem)
        checked = self._made.once(path, "checks", (doc, playbook), problems_of, keep=cached)
        return found, playbook if isinstance(playbook, Playbook) else None, list(checked)

    def _playbook_or_why(self, playbook_id: str) -> Playbook | str:
        """The scenario's playbook, or why it cannot be had: not there (naming those that are), or
        not valid (naming its first problem, so `drill start` shows what to fix)."""
        try:
            return self.playbook(playbook_id)
        except NotFound as missing:
            return str(missing)
        except InvalidFile as bad:
            more = len(bad.problems) - 1
            return f"playbook {playbook_id!r} is not valid: {bad.problems[0]}" + (
                f" (and {more} more problem(s): see `drill validate`)" if more else ""
            )


@dataclass
class _Made:
    """Each plan file as parsed, by path with the stamp (mtime, size, inode) it was parsed at, and
    what was made from it (its model, its problems) with the inputs it was made from."""

    parsed: dict[str, tuple[tuple[int, int, int], tuple[Document | None, list[Problem]]]] = field(default_factory=dict)
    made: dict[tuple[str, str], tuple[tuple[object, ...], Any]] = field(default_factory=dict)

    def once(self, path: Path, what: str, inputs: tuple[object, ...], make: Callable[[], T], *, keep: bool) -> T:
        """`make()`, made again only when its inputs are not the very objects it was made from: the
        parsed document (kept until its file changes) and, for a scenario's checks, its playbook.
        Models are frozen, so one can serve every caller. `keep=False` keeps nothing (`validate`)."""
        if not keep:
            return make()
        made = self.made.get((str(path), what))
        if made is None or any(a is not b for a, b in zip(made[0], inputs, strict=True)):
            made = self.made[(str(path), what)] = (inputs, make())
        result: T = made[1]
        return result


def _plan_of(doc: Document) -> tuple[Playbook | None, list[Problem]]:
    """The playbook a file holds, validated, as the plain values the engine uses."""
    found, problems = to_model(doc, planfiles.Playbook)
    return (found.to_plan() if found else None), problems


def _playbook_problems(doc: Document, pb: Playbook, stem: str) -> tuple[Problem, ...]:
    return tuple(doc.problem(where, message) for where, message in check_playbook(pb, stem))


def _scenario_problems(doc: Document, sc: Scenario, pb: Playbook | str, stem: str) -> tuple[Problem, ...]:
    return tuple(doc.problem(where, message) for where, message in check_scenario(sc, pb, stem))


def _is_file(path: Path) -> bool:
    """`Path.is_file`, and false where the file's folder cannot be searched (`_not_regular` says why)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _special_file(path: Path) -> bool:
    try:
        return never_read(path.stat().st_mode)
    except OSError:  # no file, or one that cannot be read: reading it says which
        return False


def _safe_id(value: str) -> bool:
    return bool(value) and "/" not in value and "\\" not in value and not value.startswith(".")
