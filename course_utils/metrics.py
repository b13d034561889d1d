"""Every evaluation metric of the course, through one door: perplexity, BLEU (sacrebleu-compatible),
ROUGE (rouge-score-compatible) and classification metrics (accuracy, precision / recall / F1, confusion
matrix). Import them from here (`from course_utils.metrics import bleu, rouge_n`); BLEU and ROUGE are
implemented in `course_utils.bleu` and `course_utils.rouge`, which notebooks and tests do not import.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from course_utils.bleu import TOKENIZERS as BLEU_TOKENIZERS
from course_utils.bleu import bleu, bleu_statistics, ngram_counts, tokenize_13a, tokenize_zh
from course_utils.rouge import lcs_length, rouge, rouge_l, rouge_n, rouge_tokenize

__all__ = ["perplexity",
           "bleu", "bleu_statistics", "ngram_counts", "tokenize_13a", "tokenize_zh", "BLEU_TOKENIZERS",
           "rouge", "rouge_n", "rouge_l", "rouge_tokenize", "lcs_length",
           "accuracy", "confusion_matrix", "precision_recall_f1", "f1_score", "bootstrap_interval"]


def perplexity(mean_nll: float) -> float:
    """Perplexity = exp(mean negative log-likelihood per token, in nats).

    It reads as "the model is as unsure as a uniform choice among this many tokens".
    """
    if mean_nll < 0 or math.isnan(mean_nll):
        raise ValueError(f"mean_nll must be a non-negative number of nats, got {mean_nll}")
    return math.exp(mean_nll)


# ---------------------------------------------------------------------------------------------------
# classification: accuracy, precision / recall / F1, confusion matrix
# ---------------------------------------------------------------------------------------------------
def _as_label_list(labels, name: str) -> list:
    """Labels as a plain Python list (accepts lists, tuples, NumPy arrays and torch tensors)."""
    if isinstance(labels, str):
        raise TypeError(f"{name} must be a sequence of labels, got one str: {labels!r}")
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    try:
        labels = list(labels)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of labels, got {type(labels).__name__}") from None
    return labels


def _label_kind(label) -> str:
    """'number' for any int/float/NumPy number (0 and np.int64(1) are labels of one kind), else the type name."""
    return "number" if isinstance(label, numbers.Number) else type(label).__name__


def _check_pair(y_true, y_pred) -> tuple[list, list]:
    y_true, y_pred = _as_label_list(y_true, "y_true"), _as_label_list(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    if not y_true:
        raise ValueError("y_true and y_pred must not be empty")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true label: (1/n) Σ [ŷᵢ = yᵢ]."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def confusion_matrix(y_true, y_pred, labels=None):
    """Counts C[i, j] = how many items of true class labels[i] were predicted as labels[j] (a NumPy
    int array; rows = truth, columns = prediction — the diagonal holds the correct ones).

    `labels` fixes the order (default: the sorted distinct labels seen in either list)."""
    import numpy as np

    y_true, y_pred = _check_pair(y_true, y_pred)
    labels = sorted(set(y_true) | set(y_pred)) if labels is None else _as_label_list(labels, "labels")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({str(x) for x in (*y_true, *y_pred) if x not in index})
    if unknown:
        raise ValueError(f"labels={labels} does not include every label seen, missing {unknown}")
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        counts[index[t], index[p]] += 1
    return counts


def precision_recall_f1(y_true, y_pred, positive=1) -> tuple[float, float, float]:
    """Precision, recall and F1 for one class (`positive`):

        precision = TP / (TP + FP)   — of the items we called positive, how many were?
        recall    = TP / (TP + FN)   — of the positive items, how many did we find?
        F1        = 2 · P · R / (P + R)   (harmonic mean; 0 when P + R = 0)

    A ratio whose denominator is 0 counts as 0 (nothing predicted / nothing to find), e.g. labels 0/1 with
    no 1 anywhere. A `positive` of another kind than the labels (the default 1 with "pos"/"neg" labels) is
    a mistake that would silently score 0, so it raises."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    if positive not in y_true and positive not in y_pred:
        kinds = {_label_kind(x) for x in (*y_true, *y_pred)}
        if _label_kind(positive) not in kinds:
            seen = sorted({repr(x) for x in (*y_true, *y_pred)})
            raise ValueError(f"positive={positive!r} is not a label of this data (labels seen: {', '.join(seen)}); "
                             f"pass the label of the class to score, e.g. positive={y_true[0]!r}")
    tp = sum(t == positive and p == positive for t, p in zip(y_true, y_pred))
    fp = sum(t != positive and p == positive for t, p in zip(y_true, y_pred))
    fn = sum(t == positive and p != positive for t, p in zip(y_true, y_pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def f1_score(y_true, y_pred, positive=1, average: str = "binary") -> float:
    """F1 of the `positive` class (average="binary") or the unweighted mean of every class's F1
    (average="macro", which treats a rare class as seriously as a common one)."""
    if average == "binary":
        return precision_recall_f1(y_true, y_pred, positive)[2]
    if average == "macro":
        y_true, y_pred = _check_pair(y_true, y_pred)
        classes = sorted(set(y_true) | set(y_pred))
        return sum(precision_recall_f1(y_true, y_pred, c)[2] for c in classes) / len(classes)
    raise ValueError(f"average must be 'binary' or 'macro', got {average!r}")


# ---------------------------------------------------------------------------------------------------
# uncertainty: a bootstrap interval for any corpus-level score
# ---------------------------------------------------------------------------------------------------
def bootstrap_interval(statistic: Callable[[np.ndarray], float], n_items: int, *, resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for a score computed on `n_items` held-out items.

    `statistic(indices)` recomputes the score on the items at `indices` (drawn with replacement), e.g.
    ``lambda idx: bleu([hyps[i] for i in idx], [refs[i] for i in idx])``. With a test set of a few hundred
    sentences, two systems whose intervals overlap widely are not shown to differ. Seeded: the same
    interval on every run.
    """
    from course_utils.validation import require_int, require_real

    n_items = require_int(n_items, "n_items", minimum=1)
    resamples = require_int(resamples, "resamples", minimum=10)
    confidence = require_real(confidence, "confidence", above=0, below=1)
    rng = np.random.default_rng(seed)
    scores = np.array([statistic(rng.integers(0, n_items, n_items)) for _ in range(resamples)], dtype=float)
    tail = (1 - confidence) / 2
    return float(np.quantile(scores, tail)), float(np.quantile(scores, 1 - tail))
