"""Checkers for notebook 07 (summarization): ROUGE-1 by hand, PageRank by power iteration, and a cosine
sentence similarity for TextRank."""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable

import numpy as np

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.metrics import rouge_n
from course_utils.summarize import pagerank


@exercise_check
def check_exercise_1(rouge1_f1: Callable) -> None:
    """`rouge1_f1(candidate_tokens, reference_tokens)` → ROUGE-1 F1 with clipped unigram counts."""
    cases = [("the cat sat on the mat".split(), "the cat is on the mat".split()),
             ("the the the".split(), "the cat".split()),
             ("a b".split(), "c d".split()),
             ("return a sorted copy".split(), "return a sorted copy of an array".split())]
    for cand, ref in cases:
        got = rouge1_f1(list(cand), list(ref))
        want = rouge_n(cand, ref, 1)
        if got is None:
            _fail("rouge1_f1 returned None — return the F1 score (a float between 0 and 1)")
        if not math.isclose(float(got), want, abs_tol=1e-9):
            overlap = sum((Counter(cand) & Counter(ref)).values())
            p, r = overlap / len(cand), overlap / len(ref)
            hint = (" — that is the precision; F1 = 2PR / (P + R)" if math.isclose(float(got), p) else
                    " — that is the recall; F1 = 2PR / (P + R)" if math.isclose(float(got), r) else
                    " — count each word at most as often as it occurs in the reference (Counter & Counter)"
                    if cand == "the the the".split() else " — overlap / len(candidate) is P, / len(reference) is R")
            _fail(f"rouge1_f1({' '.join(cand)!r}, {' '.join(ref)!r}) = {float(got):.4f}, expected {want:.4f}{hint}")
    _pass("rouge1_f1 equals course_utils.metrics.rouge_n(…, 1), clipping included")


def _graphs():
    rng = np.random.default_rng(0)
    W = rng.random((5, 5)) * (rng.random((5, 5)) < 0.6)
    W = W + W.T
    np.fill_diagonal(W, 0)
    W[4, :] = W[:, 4] = 0                                       # one sentence shares no word with the others
    chain = np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=float)
    return [chain, W]


@exercise_check
def check_exercise_2(my_pagerank: Callable) -> None:
    """`my_pagerank(W, damping)` by power iteration must equal `course_utils.summarize.pagerank`."""
    for W in _graphs():
        got = my_pagerank(W.copy(), 0.85)
        want = pagerank(W, 0.85)
        if got is None:
            _fail("my_pagerank returned None — return the vector r of shape (n,)")
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            _fail(f"r should have shape {want.shape}, got {got.shape}")
        if not np.isclose(got.sum(), 1.0, atol=1e-6):
            _fail(f"r should sum to 1 (a probability distribution over sentences), got {got.sum():.4f} — "
                  "start from the uniform vector and use (1 − d)/n for the jump")
        if not np.allclose(got, want, atol=1e-6):
            isolated = bool((W.sum(1) == 0).any())
            hint = (" — a sentence with no edges must spread its rank uniformly over all n sentences (its row of P "
                    "is 1/n), otherwise rank leaks away" if isolated else
                    " — normalise each row of W to sum to 1 (P = W / W.sum(1)), then iterate r ← (1−d)/n + d·Pᵀr")
            _fail(f"my_pagerank gave {np.round(got, 4).tolist()}, expected {np.round(want, 4).tolist()}{hint}")
    _pass("my_pagerank matches the package's power iteration (isolated sentences included)")


def _reference_cosine(a: list[str], b: list[str]) -> float:
    ca, cb = Counter(a), Counter(b)
    dot = sum(ca[w] * cb[w] for w in ca)
    norm = math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values()))
    return dot / norm if norm else 0.0


@exercise_check
def check_exercise_3(cosine_similarity: Callable) -> None:
    """`cosine_similarity(a_words, b_words)` → cosine of the two bag-of-words count vectors (0 if empty)."""
    cases = [(["array", "sort", "array"], ["array", "copy"]), (["x"], ["x"]), (["a", "b"], ["c"]), ([], ["a"]),
             (["mean", "axis", "nan"], ["nan", "mean", "axis", "axis"])]
    for a, b in cases:
        got = cosine_similarity(list(a), list(b))
        want = _reference_cosine(a, b)
        if got is None:
            _fail("cosine_similarity returned None — return a float")
        if not math.isclose(float(got), want, abs_tol=1e-9):
            hint = (" — an empty sentence has no direction: return 0.0" if not a or not b else
                    " — use word *counts*: 'array' twice in a contributes 2·1 to the dot product"
                    if a == ["array", "sort", "array"] else " — cos = a·b / (‖a‖ ‖b‖) over word-count vectors")
            _fail(f"cosine_similarity({a}, {b}) = {float(got):.4f}, expected {want:.4f}{hint}")
    _pass("cosine_similarity: a·b / (‖a‖‖b‖) over word counts, 0 for an empty sentence")
