"""Checkers for notebook 08 (sentiment analysis): scores from a confusion matrix, negation marking for
bag-of-words, and VADER's three-way positive / neutral / negative rule."""
from __future__ import annotations

from typing import Callable

import numpy as np

from course_utils.exercises import _fail, _pass, exercise_check


def _reference_scores(cm: np.ndarray, positive: int) -> tuple[float, float, float]:
    tp = cm[positive, positive]
    predicted, actual = cm[:, positive].sum(), cm[positive, :].sum()
    p = tp / predicted if predicted else 0.0
    r = tp / actual if actual else 0.0
    return float(p), float(r), float(2 * p * r / (p + r) if p + r else 0.0)


CONFUSION_CASES = (
    (np.array([[50, 10], [5, 35]]), 1, "a 2×2 matrix, positive = 1"),
    (np.array([[50, 10], [5, 35]]), 0, "the same matrix, positive = 0"),
    (np.array([[3, 1, 0], [2, 5, 1], [0, 2, 6]]), 2, "a 3×3 matrix, class 2"),
    (np.array([[9, 0], [0, 0]]), 1, "nothing predicted or true positive (denominators 0)"),
    (np.array([[4, 0], [6, 0]]), 1, "positives exist but none predicted"),
)


@exercise_check
def check_exercise_1(scores_from_confusion: Callable) -> None:
    """(precision, recall, f1) of one class from a confusion matrix (rows = truth, columns = prediction)."""
    for cm, positive, what in CONFUSION_CASES:
        try:
            got = scores_from_confusion(cm.copy(), positive)
        except ZeroDivisionError:
            _fail(f"{what}: division by zero — when a denominator is 0, return 0.0 for that ratio")
        if got is None:
            _fail("scores_from_confusion returned None — return a tuple (precision, recall, f1)")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            _fail(f"scores_from_confusion should return 3 numbers (precision, recall, f1), got {got!r}")
        if any(isinstance(v, float) and np.isnan(v) for v in got):
            _fail(f"{what}: got nan in {got} — when a denominator is 0, return 0.0 for that ratio")
        want = _reference_scores(cm, positive)
        if not np.allclose([float(v) for v in got], want, atol=1e-9):
            names = ("precision", "recall", "f1")
            bad = next(n for n, g, w in zip(names, got, want) if abs(float(g) - w) > 1e-9)
            hint = {"precision": "TP / (column sum: everything predicted as this class)",
                    "recall": "TP / (row sum: everything truly in this class)",
                    "f1": "2·P·R / (P + R)"}[bad]
            _fail(f"{what}: {bad} = {float(got[names.index(bad)]):.4f}, expected {want[names.index(bad)]:.4f} — "
                  f"{bad} is {hint}")
    _pass(f"scores_from_confusion is right on {len(CONFUSION_CASES)} matrices, including zero denominators")


NEGATION_CASES = (
    "this is n't good , really . but fine",
    "not bad at all ! a great film",
    "never boring ; never dull",
    "no plot , no characters , no point .",
    "i do n't think it is not funny ? it is",
    "a film that is not worth your time",
    "good fun",
)


@exercise_check
def check_exercise_2(mark_negation: Callable) -> None:
    """Tokens after a negation (until . : ; ! ?) get the suffix _NEG — same answers as nltk's mark_negation."""
    from nltk.sentiment.util import mark_negation as reference

    for text in NEGATION_CASES:
        tokens = text.split()
        got = mark_negation(list(tokens))
        if got is None:
            _fail("mark_negation returned None — return the list of (possibly marked) tokens")
        want = reference(list(tokens))
        if list(got) != want:
            diff = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            _fail(f"mark_negation({tokens}) gave {list(got)}, expected {want}; first difference at token {diff} "
                  f"— mark every token after a negation word (or a token ending in n't) until . : ; ! or ?, "
                  f"leave the negation and the punctuation unmarked")
    _pass(f"mark_negation agrees with nltk.sentiment.util.mark_negation on {len(NEGATION_CASES)} sentences")


@exercise_check
def check_exercise_3(three_way: Callable[[float], str]) -> None:
    """VADER's rule: positive if compound ≥ 0.05, negative if ≤ −0.05, else neutral."""
    cases = {0.9: "positive", 0.05: "positive", 0.0499: "neutral", 0.0: "neutral", -0.0499: "neutral",
             -0.05: "negative", -1.0: "negative"}
    for compound, want in cases.items():
        got = three_way(compound)
        if got is None:
            _fail("three_way returned None — return 'positive', 'neutral' or 'negative'")
        if got != want:
            _fail(f"three_way({compound}) = {got!r}, expected {want!r} — the boundaries belong to the outer "
                  f"classes: compound ≥ 0.05 is positive, ≤ −0.05 is negative")
    _pass(f"three_way is right on {len(cases)} scores, boundaries included")
