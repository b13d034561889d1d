"""Evaluation metrics: perplexity (more to come: accuracy, BLEU, ROUGE)."""
from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """Perplexity = exp(mean negative log-likelihood per token, in nats).

    It reads as "the model is as unsure as a uniform choice among this many tokens".
    """
    if mean_nll < 0 or math.isnan(mean_nll):
        raise ValueError(f"mean_nll must be a non-negative number of nats, got {mean_nll}")
    return math.exp(mean_nll)
