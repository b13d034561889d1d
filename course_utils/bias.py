"""Association bias, measured in a model and traced back to its training text.

A language model's bias is a conditional probability: after "the nurse said that", how much more likely
is " she" than " he"? We measure it as a log-ratio of word probabilities,

    bias(context) = ln P(he-words | context) − ln P(she-words | context)      (> 0: leans "he")

where P(word | context) for a character-level model is the probability of the word's characters *and* of
a word boundary after them (so " he" does not also count " hear" or " heaven"). Then we count the same
association in the corpus — pronouns in the few words after each "the nurse" — and compare the two.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils.validation import require_int, require_str

HE_WORDS = (" he", " him", " his")
SHE_WORDS = (" she", " her")

# male ↔ female word pairs for counting representation and for counterfactual swapping
GENDER_PAIRS = (("he", "she"), ("king", "queen"), ("lord", "lady"), ("man", "woman"), ("men", "women"),
                ("father", "mother"), ("son", "daughter"), ("husband", "wife"), ("brother", "sister"),
                ("boy", "girl"), ("duke", "duchess"), ("prince", "princess"), ("master", "mistress"),
                ("sir", "madam"), ("gentleman", "gentlewoman"), ("lords", "ladies"))


def boundary_ids(tokenizer) -> list[int]:
    """Ids of the characters that end a word: everything in a char vocabulary that is not a letter,
    a digit or an apostrophe ("he's" still starts with the word "he", but we keep it simple and strict)."""
    itos = getattr(tokenizer, "itos", None)
    if itos is None:
        raise TypeError(f"tokenizer must be a character tokenizer with .itos, got {type(tokenizer).__name__}")
    return [i for i, ch in enumerate(itos) if not (ch.isalnum() or ch == "'")]


@torch.no_grad()
def word_log_prob(model: nn.Module, tokenizer, context: str, word: str) -> float:
    """ln P(word, then a word boundary | context) under a character-level model, in nats.

        ln P = Σᵢ ln P(wᵢ | context, w<ᵢ) + ln Σ_{b ∈ boundaries} P(b | context, word)
    """
    require_str(context, "context")
    require_str(word, "word")
    if not context or not word:
        raise ValueError(f"context and word must be non-empty, got {context!r} and {word!r}")
    ids = list(tokenizer.encode(context + word))
    block_size = getattr(model, "block_size", None)
    if block_size is not None:
        ids = ids[-block_size:]                                              # crop the oldest context
    n_word = len(tokenizer.encode(word))
    was_training = model.training
    model.eval()
    x = torch.tensor([ids], device=next(model.parameters()).device)          # (1, T)
    log_probs = model(x).float().log_softmax(-1)[0]                           # (T, V)
    model.train(was_training)
    targets = x[0, -n_word:]                                                  # the word's characters
    word_lp = log_probs[-n_word - 1:-1].gather(-1, targets[:, None]).sum()    # positions predicting them
    boundary_lp = log_probs[-1, boundary_ids(tokenizer)].logsumexp(-1)        # any non-letter next
    return float(word_lp + boundary_lp)


def words_log_prob(model: nn.Module, tokenizer, context: str, words: Sequence[str]) -> float:
    """ln Σ_w P(w | context) over a set of alternative words (e.g. " he", " him", " his")."""
    if isinstance(words, str) or not words:
        raise ValueError(f"words must be a non-empty list of str, got {words!r}")
    return float(torch.tensor([word_log_prob(model, tokenizer, context, w) for w in words]).logsumexp(0))


def pronoun_bias(model: nn.Module, tokenizer, contexts: Iterable[str], he_words: Sequence[str] = HE_WORDS,
                 she_words: Sequence[str] = SHE_WORDS) -> float:
    """Mean over `contexts` of ln P(he-words | c) − ln P(she-words | c), in nats (> 0: the model leans "he")."""
    contexts = list(contexts)
    if not contexts:
        raise ValueError("contexts must not be empty")
    gaps = [words_log_prob(model, tokenizer, c, he_words) - words_log_prob(model, tokenizer, c, she_words)
            for c in contexts]
    return float(np.mean(gaps))


def word_pair_log_probs(model: nn.Module, tokenizer, contexts: Iterable[str],
                        pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> np.ndarray:
    """(n_pairs, 2) nats: for each (male, female) pair, the mean over `contexts` of ln P(" male" | c) and of
    ln P(" female" | c) (each word with its boundary, as in `word_log_prob`)."""
    contexts = list(contexts)
    if not contexts:
        raise ValueError("contexts must not be empty")
    return np.array([[np.mean([word_log_prob(model, tokenizer, c, " " + word) for c in contexts])
                      for word in pair] for pair in pairs])


def word_pair_gaps(model: nn.Module, tokenizer, contexts: Iterable[str],
                   pairs: Sequence[tuple[str, str]] = GENDER_PAIRS, per_character: bool = False) -> np.ndarray:
    """For each (male, female) pair, the mean over `contexts` of ln P(" male" | c) − ln P(" female" | c):
    (n_pairs,) nats, > 0 where the model would rather say the male word ("king" over "queen").

    A character model pays for every character it spells, so a longer word starts behind. With
    `per_character=True` each word's log-probability is divided by the number of predictions it is made of
    (the leading space, the letters and the boundary: len(word) + 2), a length-normalised gap: mean nats per
    predicted character, male − female."""
    log_probs = word_pair_log_probs(model, tokenizer, contexts, pairs)           # (n_pairs, 2)
    if per_character:
        log_probs = log_probs / np.array([[len(word) + 2 for word in pair] for pair in pairs])
    return log_probs[:, 0] - log_probs[:, 1]


def length_differences(pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> np.ndarray:
    """(n_pairs,): how many letters longer the female word is than the male one (duke/duchess: +3)."""
    return np.array([len(female) - len(male) for male, female in pairs])


def remove_linear_effect(y: Sequence[float], x: Sequence[float]) -> np.ndarray:
    """y minus its least-squares fit a + b·x: what is left of y once x's linear effect is removed (the
    residuals; they have mean 0 and no linear correlation with x). Used to control a bias measurement for
    word length: residuals of the model's gap after regressing it on the length difference."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x and y must be 1-D of the same length ≥ 3, got shapes {x.shape} and {y.shape}")
    if np.ptp(x) == 0:
        raise ValueError("x is constant: there is no effect of x to remove")
    design = np.stack([np.ones_like(x), x], axis=1)                             # (n, 2)
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ coefficients


def slope(y: Sequence[float], x: Sequence[float]) -> float:
    """The least-squares slope b of y ≈ a + b·x (e.g. nats of gap per letter of length difference)."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    remove_linear_effect(y, x)                                                  # validates the shapes
    return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))


# ---------------------------------------------------------------------------------------------------
# the same association in the corpus
# ---------------------------------------------------------------------------------------------------
WORD_PATTERN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def words_of(text: str) -> list[str]:
    """Lower-cased words (letters, with an inner apostrophe: "king's")."""
    return [w.lower() for w in WORD_PATTERN.findall(require_str(text, "text"))]


def cooccurrence_counts(text: str, phrase: str, targets: Iterable[str], window: int = 10) -> Counter:
    """How often each target word appears within the `window` words that follow each occurrence of
    `phrase` (a word or words, case-insensitive). E.g. phrase "the nurse", targets {"he", "she"}."""
    window = require_int(window, "window", minimum=1)
    words = words_of(text)
    key = words_of(require_str(phrase, "phrase"))
    if not key:
        raise ValueError(f"phrase must contain at least one word, got {phrase!r}")
    targets = {t.lower() for t in targets}
    counts: Counter = Counter({t: 0 for t in targets})
    n = len(key)
    for i in range(len(words) - n + 1):
        if words[i:i + n] == key:
            counts.update(w for w in words[i + n:i + n + window] if w in targets)
    return counts


def _swap_table(pairs) -> dict[str, str]:
    table = {}
    for male, female in pairs:
        table.setdefault(male, female)
        table.setdefault(female, male)
    # "her" is both object (him) and possessive (his): map it to one; "him"/"his" both map to "her"
    table.update({"him": "her", "his": "her", "her": table.get("her", "him")})
    return table


def swap_gendered_words(text: str, pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> str:
    """Counterfactual data augmentation (Lu et al. 2018): swap every male word for its female partner and
    back ("he" ↔ "she", "king" ↔ "queen", …), keeping the case pattern (he → she, He → She, HE → SHE).

    "her" is ambiguous (object or possessive); it becomes "him". The result is grammatical most of the time,
    which is enough to move a model's gender statistics.
    """
    require_str(text, "text")
    if isinstance(pairs, str) or not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise ValueError(f"pairs must be (male, female) tuples of str, got {pairs!r}")
    table = _swap_table(pairs)
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)

    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = table[word.lower()]
        if word.isupper() and len(word) > 1:
            return new.upper()
        return new.capitalize() if word[0].isupper() else new

    return pattern.sub(swap, text)


def log_odds(a: float, b: float, smoothing: float = 1.0) -> float:
    """ln((a + s) / (b + s)): the add-s smoothed log-ratio of two counts (0 when they are equal)."""
    if a < 0 or b < 0 or smoothing <= 0:
        raise ValueError(f"counts must be ≥ 0 and smoothing > 0, got a={a}, b={b}, smoothing={smoothing}")
    return math.log((a + smoothing) / (b + smoothing))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's r of the ranks (average ranks for ties)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x and y must be 1-D of the same length ≥ 3, got shapes {x.shape} and {y.shape}")
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):                                              # average ranks for ties
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks
