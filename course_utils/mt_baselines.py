"""Classical machine-translation baselines — the rungs a neural translator has to climb past.

1. `copy_baseline` — output the source unchanged. Scores above zero whenever the languages share
   names, numbers and placeholders ("%1", "Jupyter"): the floor every system must beat.
2. `WordByWordTranslator` — replace each source word by its most probable translation under
   IBM Model 1 (Brown et al., 1993), trained by EM on the parallel sentences with `nltk.translate.IBMModel1`.
   No reordering, no agreement, no words that have no source counterpart: a statistical dictionary.
3. `TranslationMemory` — return the stored translation of the most similar training sentence
   (what professional translators' CAT tools do). Strong when test sentences resemble training ones.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from course_utils.validation import require_int

_TOKEN = re.compile(r"%\d+|\w+['’](?=\w)|\w+|[^\w\s]")


def mt_tokenize(text: str) -> list[str]:
    """Words, placeholders (%1) and punctuation; a French elided article keeps its apostrophe
    ("l'extension" → "l'", "extension") so it can align with "the"."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return _TOKEN.findall(text)


def mt_detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with spaces, then re-attach punctuation and elided articles."""
    text = " ".join(tokens)
    text = re.sub(r" ([,.!?:;)…])", r"\1", text)
    text = re.sub(r"([(]) ", r"\1", text)
    return re.sub(r"(\w['’]) ", r"\1", text)


def _check_texts(name: str, texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of str, got one str; wrap it in a list")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name} must contain str, got {type(t).__name__} at index {i}")
    return texts


def _check_pairs(pairs) -> list[tuple[str, str]]:
    pairs = [tuple(p) for p in pairs]
    if not pairs:
        raise ValueError("pairs must contain at least one (source, target) pair, got none")
    for i, p in enumerate(pairs):
        if len(p) != 2 or not all(isinstance(x, str) for x in p):
            raise TypeError(f"pairs must be (source str, target str) tuples, got {p!r} at index {i}")
    return pairs


def copy_baseline(sources: Iterable[str]) -> list[str]:
    """The 'translation' that changes nothing: each source sentence as its own output."""
    return _check_texts("sources", sources)


class WordByWordTranslator:
    """Translate each word on its own with a dictionary {source word: target word}; words not in the
    dictionary are copied (names, numbers and placeholders usually survive translation unchanged)."""

    def __init__(self, dictionary: dict[str, str]):
        if not isinstance(dictionary, dict):
            raise TypeError(f"dictionary must be a dict {{source word: target word}}, got {type(dictionary).__name__}")
        self.dictionary = dictionary

    @classmethod
    def fit_ibm1(cls, pairs: Iterable[tuple[str, str]], iterations: int = 5) -> "WordByWordTranslator":
        """Learn t(f | e) — the probability that English word e is translated as f — with IBM Model 1's
        EM (NLTK), then keep the most probable f for every e."""
        from nltk.translate import AlignedSent, IBMModel1

        pairs = _check_pairs(pairs)
        iterations = require_int(iterations, "iterations", minimum=1)
        # AlignedSent(words, mots): NLTK's t(word | mot) reads "mot translates to word" → target first
        bitext = [AlignedSent(mt_tokenize(tgt), mt_tokenize(src)) for src, tgt in pairs]
        model = IBMModel1(bitext, iterations)
        return cls(best_translations(model.translation_table))

    def translate_one(self, text: str) -> str:
        return mt_detokenize([self.dictionary.get(w, w) for w in mt_tokenize(text)])

    def translate(self, sources: Iterable[str]) -> list[str]:
        return [self.translate_one(s) for s in _check_texts("sources", sources)]


def best_translations(translation_table: dict[str, dict[str | None, float]]) -> dict[str, str]:
    """{source word: its most probable target word} from an NLTK table `t[target][source] = p(target | source)`."""
    best: dict[str, tuple[float, str]] = {}
    for target, row in translation_table.items():
        if target is None:
            continue
        for source, p in row.items():
            if source is not None and (source not in best or (p, target) > best[source]):
                best[source] = (p, target)
    return {source: target for source, (p, target) in best.items()}


class TranslationMemory:
    """Nearest-neighbour translation: the stored target of the training source with the highest
    word-overlap similarity (Dice coefficient of word multisets; ties → the earlier pair)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.pairs = _check_pairs(pairs)
        self._bags = [Counter(w.lower() for w in mt_tokenize(s)) for s, _ in self.pairs]
        self._index: dict[str, list[int]] = defaultdict(list)
        for i, bag in enumerate(self._bags):
            for word in bag:
                self._index[word].append(i)

    @staticmethod
    def similarity(a: Counter, b: Counter) -> float:
        """Dice = 2·|a ∩ b| / (|a| + |b|) over word counts: 1 for identical bags, 0 for disjoint ones."""
        total = sum(a.values()) + sum(b.values())
        return 2 * sum((a & b).values()) / total if total else 0.0

    def nearest(self, text: str) -> tuple[int, float]:
        """(index of the most similar training pair, its similarity); (-1, 0.0) when no word is shared."""
        bag = Counter(w.lower() for w in mt_tokenize(text))
        candidates = sorted({i for w in bag for i in self._index.get(w, ())})
        best, best_sim = -1, 0.0
        for i in candidates:
            sim = self.similarity(bag, self._bags[i])
            if sim > best_sim:
                best, best_sim = i, sim
        return best, best_sim

    def translate_one(self, text: str) -> str:
        i, _ = self.nearest(text)
        return self.pairs[i][1] if i >= 0 else text  # nothing similar: copy

    def translate(self, sources: Iterable[str]) -> list[str]:
        return [self.translate_one(s) for s in _check_texts("sources", sources)]
