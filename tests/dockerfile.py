"""Enough of the Dockerfile format to run a Dockerfile's commands without a Docker engine."""

import fnmatch
import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str
    flags: dict[str, str]
    arguments: str

    def json_form(self) -> list[str]:
        """The exec (JSON array) form of CMD, or of HEALTHCHECK's CMD."""
        text = self.arguments.removeprefix("CMD").strip()
        argv = json.loads(text)
        assert isinstance(argv, list), self.arguments
        return argv

    def variables(self) -> dict[str, str]:
        """ENV's ``NAME=value`` pairs."""
        pairs = (pair.partition("=") for pair in shlex.split(self.arguments))
        return {name: value for name, _, value in pairs}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        (found,) = self.all(keyword)
        return found

    def env(self) -> dict[str, str]:
        """Every ENV of the stage, as its last instruction sees them."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            values |= instruction.variables()
        return values


def parse(text: str) -> list[Stage]:
    """Stages with their instructions: continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"

    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        if keyword.upper() == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or None))
        else:
            stages[-1].instructions.append(
                Instruction(keyword.upper(), flags, " ".join(rest.split()))
            )
    return stages


def dockerignore(project_root: Path) -> list[str]:
    lines = (project_root / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether the build context leaves out this path (the patterns kabinet's .dockerignore uses)."""
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.split("/")):
                return True
        elif fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/"):
            return True
    return False


def copy(
    sources: list[Path], destination: Path, *, into_folder: bool, context: Path | None = None
) -> None:
    """COPY: a directory's contents into the destination; files into it when it is a folder.

    From the build context (``context`` given), .dockerignore's paths are left out.
    """
    patterns = dockerignore(context) if context else []

    def leave_out(folder: str, names: list[str]) -> set[str]:
        if context is None:
            return set()
        base = Path(folder).relative_to(context)
        return {name for name in names if ignored((base / name).as_posix(), patterns)}

    for source in sources:
        if context is not None:
            assert not ignored(source.relative_to(context).as_posix(), patterns), source
        if source.is_dir():
            shutil.copytree(source, destination, ignore=leave_out, dirs_exist_ok=True)
        else:
            target = destination / source.name if into_folder else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
