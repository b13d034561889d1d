"""Classical machine-translation baselines — the rungs a neural translator has to climb past.

1. `copy_baseline` — output the source unchanged. Scores above zero whenever the languages share
   names, numbers and placeholders ("%1", "Jupyter"): the floor every system must beat.
2. `WordByWordTranslator` — replace each source word by its most probable translation under
   IBM Model 1 (Brown et al., 1993), trained by EM on the parallel sentences with `nltk.translate.IBMModel1`.
   No reordering, no agreement, no words that have no source counterpart: a statistical dictionary.
3. `TranslationMemory` — return the stored translation of the most similar training sentence
   (what professional translators' CAT tools do). Strong when test sentences resemble training ones.

Two helpers make the fine-tuned rung of notebook 06 cheap on a CPU: `length_bucket_batcher` trains on
batches of similar-length examples, and `in_length_order` decodes prompts sorted by length — a batch is
padded to its longest member, so grouping lengths roughly halves the time of both.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Callable, Iterable, Sequence, TypeVar

from course_utils.validation import require_int

T = TypeVar("T")

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


# ---------------------------------------------------------------------------------------------------
# length grouping for a fine-tuned decoder-only translator (notebook 06)
# ---------------------------------------------------------------------------------------------------
def length_bucket_batcher(examples: Sequence[tuple[list[int], list[int]]], batch_size: int, pad_id: int,
                          seed: int = 0):
    """`get_batch(split)` for `train_model` over (inputs, targets) examples (e.g. `finetune.prompt_example`):
    the examples sorted by length are cut into fixed batches of `batch_size` neighbours, and each epoch
    serves every batch once in a seeded random order, right-padded by `dialogue.pad_examples`.

    A batch costs as much as its longest example times batch_size; with lengths from 5 to 75 tokens a
    random batch is mostly padding, a bucket of neighbours almost none."""
    from course_utils.batching import epoch_batcher
    from course_utils.dialogue import pad_examples

    if isinstance(examples, (str, bytes)) or not len(examples):
        raise ValueError(f"examples must be a non-empty list of (inputs, targets) pairs, got {examples!r:.60}")
    batch_size = require_int(batch_size, "batch_size", minimum=1, maximum=len(examples))
    pad_id = require_int(pad_id, "pad_id", minimum=0)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))       # stable: ties keep their order
    buckets = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return epoch_batcher(len(buckets), 1, lambda idx: pad_examples([examples[i] for i in buckets[int(idx[0])]],
                                                                   pad_id), seed)


def in_length_order(fn: Callable[[list[str]], list[T]], texts: Sequence[str],
                    length: Callable[[str], int] = len) -> list[T]:
    """`fn(texts)` computed on the texts sorted by `length` and returned in the original order.

    For batched decoders (`finetune.complete`): a batch of prompts is padded to its longest prompt and runs
    until its longest answer ends, so neighbours of similar length waste far fewer steps."""
    texts = _check_texts("texts", texts)
    order = sorted(range(len(texts)), key=lambda i: length(texts[i]))
    results = list(fn([texts[i] for i in order]))
    if len(results) != len(texts):
        raise ValueError(f"fn must return one result per text: got {len(results)} results for {len(texts)} texts")
    out: list = [None] * len(texts)
    for position, i in enumerate(order):
        out[i] = results[position]
    return out
