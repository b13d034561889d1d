"""Optional online datasets — never used by default: every notebook runs offline on `course_utils.data`.

    download_imdb("~/course_data")          # 84 MB, once; checksum-verified; then extracted
    rows = load_imdb(path, split="train")   # [(label 1/0, review text), …] 25,000 per split

The Large Movie Review Dataset (Maas et al., ACL 2011, "Learning Word Vectors for Sentiment Analysis"):
50,000 full IMDb reviews, half positive, half negative, split 25k/25k into train/test. The article names
IMDb as a typical sentiment dataset; notebook 08 uses offline sentences and shows how to opt in to this.
"""
from __future__ import annotations

import hashlib
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB_CITATION = ("Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng, Christopher Potts. "
                 "Learning Word Vectors for Sentiment Analysis. ACL 2011.")
OFFLINE_MESSAGE = "no network: this optional dataset needs internet; the course runs without it"
_CHUNK = 1 << 20  # read 1 MiB at a time


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, dest: str | Path, sha256: str, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` (skipped when `dest` already has the right sha256), with a progress bar.

    The bytes go to `dest + ".part"` first and are renamed only after the checksum matches, so an
    interrupted or tampered download never looks like a good file. Raises ConnectionError (offline)
    or ValueError (checksum mismatch)."""
    from tqdm.auto import tqdm

    dest = Path(dest).expanduser()
    if dest.exists() and _sha256(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise ConnectionError(f"{OFFLINE_MESSAGE} (could not reach {url}: {getattr(err, 'reason', err)})") from None
    with response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
                bar.update(len(block))
    actual = _sha256(partial)
    if actual != sha256:
        partial.unlink()
        raise ValueError(f"downloaded {url} has sha256 {actual}, expected {sha256}: the file is incomplete "
                         f"or was changed; it was deleted — try again")
    partial.replace(dest)
    return dest


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract a .tar.gz, refusing members that would land outside `dest` (absolute paths, '..', links)."""
    root = dest.resolve()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not (target == root or root in target.parents) or member.issym() or member.islnk():
                raise ValueError(f"refusing to extract {member.name!r} from {archive}: it points outside {dest}")
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


def download_imdb(dest: str | Path, progress: bool = True) -> Path:
    """Download (84 MB, once) and extract the IMDb reviews under `dest`; return the `aclImdb` folder.

    Needs internet. Nothing in the course calls this by default."""
    dest = Path(dest).expanduser()
    root = dest / "aclImdb"
    if (root / "train").is_dir() and (root / "test").is_dir():
        return root
    archive = download_file(IMDB_URL, dest / "aclImdb_v1.tar.gz", IMDB_SHA256, progress=progress)
    _safe_extract(archive, dest)
    return root


def load_imdb(root: str | Path, split: str = "train") -> list[tuple[int, str]]:
    """(label, text) for every review of a split: label 1 = positive (rating ≥ 7), 0 = negative (≤ 4).
    Files are read in sorted order (negatives first), so the list is the same on every machine."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(root).expanduser() / split
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist; call download_imdb(dest) first and pass the "
                                f"folder it returns")
    rows = []
    for label, name in ((0, "neg"), (1, "pos")):
        for path in sorted((folder / name).glob("*.txt")):
            rows.append((label, path.read_text(encoding="utf-8").replace("<br />", " ")))
    return rows
