"""Evaluation metrics: perplexity, BLEU (sacrebleu-compatible), ROUGE (rouge-score-compatible)."""
from __future__ import annotations

import math

from course_utils.bleu import bleu  # noqa: F401  (re-exported: course_utils.metrics.bleu)
from course_utils.rouge import rouge  # noqa: F401  (re-exported: course_utils.metrics.rouge)


def perplexity(mean_nll: float) -> float:
    """Perplexity = exp(mean negative log-likelihood per token, in nats).

    It reads as "the model is as unsure as a uniform choice among this many tokens".
    """
    if mean_nll < 0 or math.isnan(mean_nll):
        raise ValueError(f"mean_nll must be a non-negative number of nats, got {mean_nll}")
    return math.exp(mean_nll)
