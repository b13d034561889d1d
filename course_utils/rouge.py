"""ROUGE-1, ROUGE-2 and ROUGE-L F1 (Lin, 2004), written to agree with Google's `rouge-score` package.

ROUGE-n compares n-gram counts of a candidate summary with a reference: recall = overlap / reference
n-grams, precision = overlap / candidate n-grams, F1 = their harmonic mean. ROUGE-L uses the longest
common subsequence instead of n-grams, so it rewards words in the right order without needing them
to be adjacent. Tokens: lower-cased runs of [a-z0-9] — like rouge-score, English only: Chinese text
scores 0 and "élégant" becomes ['l', 'gant'].

Import it through the one metrics door: `from course_utils.metrics import rouge, rouge_n`.
"""
from __future__ import annotations

import re
from collections import Counter

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def rouge_tokenize(text: str) -> list[str]:
    """Lower-case, replace every non-alphanumeric run by a space, split."""
    return _NON_ALNUM.sub(" ", text.lower()).split()


def _f1(overlap: int, n_candidate: int, n_reference: int) -> float:
    precision = overlap / max(n_candidate, 1)
    recall = overlap / max(n_reference, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_n(candidate: list[str], reference: list[str], n: int) -> float:
    """ROUGE-n F1 between two token lists."""
    cand = Counter(tuple(candidate[i:i + n]) for i in range(len(candidate) - n + 1))
    ref = Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
    return _f1(sum((cand & ref).values()), sum(cand.values()), sum(ref.values()))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row at a time)."""
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b):
            row.append(prev[j] + 1 if x == y else max(prev[j + 1], row[j]))
        prev = row
    return prev[-1]


def rouge_l(candidate: list[str], reference: list[str]) -> float:
    """ROUGE-L F1: LCS length over candidate (precision) and reference (recall) lengths."""
    if not candidate or not reference:
        return 0.0
    return _f1(lcs_length(candidate, reference), len(candidate), len(reference))


def rouge(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (0–1) over pairs (hypotheses[i], references[i])."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists of str, not a single str")
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses and references must have the same length, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} references")
    if not hypotheses:
        raise ValueError("need at least one (hypothesis, reference) pair, got none")
    scores = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for hyp, ref in zip(hypotheses, references):
        h, r = rouge_tokenize(hyp), rouge_tokenize(ref)
        scores["rouge1"] += rouge_n(h, r, 1)
        scores["rouge2"] += rouge_n(h, r, 2)
        scores["rougeL"] += rouge_l(h, r)
    return {k: v / len(hypotheses) for k, v in scores.items()}
