"""Checkers for notebook 10 (challenges & FAQ): exposure from scores, exposure estimated from a sample,
the he/she log-odds of a text, and how many characters of a language fit in a context window."""
from __future__ import annotations

import math
import re
from typing import Callable, Sequence

import numpy as np

from course_utils.exercises import _fail, _pass, exercise_check


def _number(got, name: str) -> float:
    if got is None:
        _fail(f"{name} returned None — return a float")
    try:
        value = float(got)
    except (TypeError, ValueError):
        _fail(f"{name} should return a number, got {type(got).__name__}: {got!r}")
    if math.isnan(value):
        _fail(f"{name} returned NaN")
    return value


# ---- exercise 1: exposure from the scores of every candidate -----------------------------------------
def _exposure(secret: float, scores: Sequence[float]) -> float:
    scores = np.asarray(scores, dtype=float)
    rank = 1 + int(np.sum(scores < secret))
    return math.log2(len(scores)) - math.log2(rank)


EXPOSURE_CASES = (
    (0.5, [0.5, 1.0, 2.0, 3.0], "the secret is the best of 4 candidates (rank 1)"),
    (3.0, [0.5, 1.0, 2.0, 3.0], "the secret is the worst of 4 (rank 4)"),
    (2.0, [float(v) for v in range(1024)], "rank 3 of 1024"),
    (7.0, [7.0, 7.0, 7.0, 9.0, 1.0, 8.0, 8.0, 8.0], "ties with the secret (rank 2: only 1.0 is strictly lower)"),
)


@exercise_check
def check_exercise_1(exposure_bits: Callable) -> None:
    """The learner's `exposure_bits(secret_score, candidate_scores)` must return log2|R| − log2(rank)."""
    for secret, scores, what in EXPOSURE_CASES:
        got = _number(exposure_bits(secret, list(scores)), "exposure_bits")
        want = _exposure(secret, scores)
        if abs(got - want) > 1e-6:
            hint = ("rank = 1 + (number of candidates with a strictly LOWER log-perplexity); lower is better, "
                    "so the best candidate has rank 1" if abs(got - (math.log2(len(scores)) - want)) > 1e-6 else
                    "you may have the rank backwards: rank 1 must be the lowest log-perplexity")
            if "ties" in what:
                hint = "ties must count in the secret's favour: count only scores strictly below the secret's"
            _fail(f"exposure_bits for {what}: got {got:.4f} bits, expected {want:.4f} — exposure = "
                  f"log2(len(candidate_scores)) − log2(rank); {hint}")
    _pass(f"exposure_bits is right on {len(EXPOSURE_CASES)} cases, including ties")


# ---- exercise 2: exposure estimated from a random sample of the space --------------------------------
def _estimate(secret: float, sample: np.ndarray, space: int) -> float:
    fraction = float(np.mean(sample < secret))
    return math.log2(space) - math.log2(1 + (space - 1) * fraction)


@exercise_check
def check_exercise_2(estimate_exposure: Callable) -> None:
    """The learner's `estimate_exposure(secret_score, sampled_scores, space_size)` must implement
    rank ≈ 1 + (|R| − 1)·(fraction of samples beating the secret), exposure = log2|R| − log2 rank."""
    rng = np.random.default_rng(0)
    population = rng.normal(size=1_000_000)
    sample = rng.choice(population, size=2_000, replace=False)
    for quantile, what in ((0.5, "a typical secret"), (0.01, "a secret in the best 1 %"),
                           (0.0, "a secret no sample beats")):
        secret = float(np.quantile(population, quantile)) if quantile else float(population.min() - 1)
        got = _number(estimate_exposure(secret, sample.copy(), 1_000_000), "estimate_exposure")
        want = _estimate(secret, sample, 1_000_000)
        if abs(got - want) > 0.05:
            _fail(f"estimate_exposure for {what}: got {got:.2f} bits, expected {want:.2f} — the fraction of "
                  "SAMPLED scores strictly below the secret's estimates the fraction of the whole space R that "
                  "beats it; rank ≈ 1 + (space_size − 1)·fraction; exposure = log2(space_size) − log2(rank)")
    _pass("estimate_exposure matches the sampling estimator (≈ 1 bit for a median secret, ≈ 6.6 bits for the "
          "best 1 %, the ceiling log2|R| when no sample beats the secret)")


# ---- exercise 3: the he/she log-odds of a text ---------------------------------------------------------
def _he_she(text: str) -> float:
    words = re.findall(r"[a-z]+", text.lower())
    he = sum(w in ("he", "him", "his") for w in words)
    she = sum(w in ("she", "her") for w in words)
    return math.log((he + 1) / (she + 1))


HE_SHE_CASES = (
    ("He said his sword was hers; she laughed.", "whole words only: 'hers' is not 'her'"),
    ("The HERO, the hen and the shepherd: THERE he is, and HER too. Him! his?", "case and word boundaries"),
    ("", "an empty text (add-one smoothing gives 0)"),
    ("she she she her her he", "more she-words than he-words (negative)"),
)


@exercise_check
def check_exercise_3(he_she_log_odds: Callable[[str], float]) -> None:
    """The learner's `he_she_log_odds(text)` must return ln((#he-words + 1) / (#she-words + 1)) with
    he-words = he, him, his and she-words = she, her, counted as whole words, case-insensitively."""
    for text, what in HE_SHE_CASES:
        got = _number(he_she_log_odds(text), "he_she_log_odds")
        want = _he_she(text)
        if abs(got - want) > 1e-9:
            _fail(f"he_she_log_odds({text!r}) = {got:.4f}, expected {want:.4f} ({what}) — lower-case the text, "
                  "split it into words (e.g. re.findall(r'[a-z]+', text.lower())), count he/him/his and "
                  "she/her, and return math.log((he + 1) / (she + 1))")
    _pass(f"he_she_log_odds is right on {len(HE_SHE_CASES)} texts (whole words, any case, add-one smoothing)")


# ---- exercise 4: characters per context window -------------------------------------------------------
def _capacity(encode: Callable[[str], list], texts: Sequence[str], context_tokens: int) -> float:
    chars = sum(len(t) for t in texts)
    tokens = sum(len(encode(t)) for t in texts)
    return context_tokens * chars / tokens


@exercise_check
def check_exercise_4(characters_per_context: Callable) -> None:
    """The learner's `characters_per_context(encode, texts, context_tokens)` must return
    context_tokens × (total characters / total tokens) over all texts."""
    from course_utils.tokenizers import gpt2_encoding

    gpt2 = gpt2_encoding().encode_ordinary
    pairs_of_chars = lambda s: [s[i:i + 2] for i in range(0, len(s), 2)]  # noqa: E731  (2 chars per token)
    cases = ((pairs_of_chars, ["abcd", "ef", "ghijkl"], 100, "a toy tokenizer with 2 characters per token"),
             (gpt2, ["Save the notebook", "Restart the kernel?"], 1024, "GPT-2 on English"),
             (gpt2, ["保存笔记本", "重启内核？"], 1024, "GPT-2 on Chinese"),
             (gpt2, ["a", "a much longer English string than the first one"], 1024,
              "texts of different lengths"))
    for encode, texts, context, what in cases:
        got = _number(characters_per_context(encode, list(texts), context), "characters_per_context")
        want = _capacity(encode, texts, context)
        if abs(got - want) > 1e-6 * max(1.0, want):
            _fail(f"characters_per_context for {what}: got {got:.2f}, expected {want:.2f} — characters per "
                  "token = (sum of len(text)) / (sum of len(encode(text))) pooled over ALL texts (do not average "
                  "per-text ratios: short strings would count as much as long ones); multiply by context_tokens")
    _pass("characters_per_context is right, for a toy tokenizer and for GPT-2 on English and Chinese")
