"""Floors measured by a separate process of the same interpreter: the least work the same files need.

python floors.py orjson DIR   parse every line of every DIR/*.jsonl with orjson
python floors.py sha256 DIR   SHA-256 of every line's bytes before `,"hash":"` in DIR/*.jsonl
python floors.py yaml DIR     load every DIR/*.yaml with yaml.CSafeLoader
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

MARK = b',"hash":"'


def parse_orjson(folder: Path) -> int:
    import orjson

    count = 0
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            orjson.loads(line)
            count += 1
    return count


def hash_lines(folder: Path) -> int:
    total = 0
    sha = hashlib.sha256
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            sha(line[: line.rfind(MARK)]).hexdigest()
            total += len(line) + 1
    return total


def load_yaml(folder: Path) -> int:
    import yaml

    count = 0
    for path in sorted(folder.glob("*.yaml")):
        with path.open("rb") as handle:
            yaml.load(handle, Loader=yaml.CSafeLoader)
        count += 1
    return count


def main(argv: list[str]) -> int:
    kind, folder = argv[1], Path(argv[2])
    done = {"orjson": parse_orjson, "sha256": hash_lines, "yaml": load_yaml}[kind](folder)
    print(done)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
