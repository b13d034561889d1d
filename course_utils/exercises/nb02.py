"""Checkers for notebook 02 (n-gram and RNN language models): an add-k bigram model's held-out
cross-entropy, a GRU cell from its equations, and gradient clipping by global norm."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.ngram import NGramLanguageModel


def _as_float(got, name: str) -> float:
    if got is None:
        _fail(f"{name} returned None — return a number (mean nats per token)")
    try:
        return float(got)
    except (TypeError, ValueError):
        _fail(f"{name} should return a number, got {type(got).__name__}")
        raise  # unreachable: _fail raises


# ---- exercise 1: add-k bigram --------------------------------------------------------------------
BIGRAM_CASES = (  # (train ids, test ids, vocab size, k)
    ([0, 1, 0, 1, 0, 2], [0, 1, 2, 0], 3, 1.0),
    ([0, 1, 0, 1, 0, 2], [2, 2, 1], 4, 0.1),      # id 3 never seen, context 2 never seen in training
    (list(np.random.default_rng(0).integers(0, 10, 500)), list(np.random.default_rng(1).integers(0, 10, 200)), 10, 0.5),
)


@exercise_check
def check_exercise_1(bigram_add_k_nll: Callable) -> None:
    """The learner's `bigram_add_k_nll(train_ids, test_ids, vocab_size, k)` must return the mean of
    −ln P(test[i] | test[i−1]) over i ≥ 1, with P = (count(prev, next) + k) / (count(prev) + k·V)."""
    for train, test, V, k in BIGRAM_CASES:
        got = _as_float(bigram_add_k_nll(np.array(train), np.array(test), V, k), "bigram_add_k_nll")
        model = NGramLanguageModel(2, vocab_size=V, smoothing="add_k", k=k).fit(train)
        want = float(model.token_nll(test)[1:].mean())  # position 0 has no previous token: skipped
        if math.isclose(got, want / math.log(2), rel_tol=1e-6):
            _fail(f"got {got:.4f}, which is {want:.4f} nats in bits — use the natural log (np.log)")
        if not math.isclose(got, want, rel_tol=1e-6):
            hint = ("count(prev) must be the number of times prev is FOLLOWED by something in training "
                    "(row sums of the bigram count matrix), and the denominator adds k·V")
            _fail(f"bigram_add_k_nll(train={train[:6]}…, test={test[:6]}…, V={V}, k={k}) = {got:.4f}, "
                  f"expected {want:.4f} — {hint}")
    _pass(f"bigram_add_k_nll matches the add-k formula on {len(BIGRAM_CASES)} cases")


# ---- exercise 2: GRU cell --------------------------------------------------------------------------
@exercise_check
def check_exercise_2(gru_cell: Callable) -> None:
    """The learner's `gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)` must equal torch.nn.GRUCell with those weights."""
    torch.manual_seed(0)
    reference = nn.GRUCell(3, 5)
    x, h = torch.randn(4, 3), torch.randn(4, 5)
    with torch.no_grad():
        want = reference(x, h)
        got = gru_cell(x, h, reference.weight_ih, reference.weight_hh, reference.bias_ih, reference.bias_hh)
    if got is None:
        _fail("gru_cell returned None — return the new hidden state h' of shape (B, d_hidden)")
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (4, 5):
        _fail(f"gru_cell should return a tensor of shape (4, 5), got "
              f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
    if not torch.allclose(got, want, atol=1e-5):
        _fail(f"gru_cell differs from torch.nn.GRUCell by up to {(got - want).abs().max():.4f} — check the "
              "gate order (torch stacks r, z, n), that r multiplies (W_hn h + b_hn) inside the tanh, and "
              "h' = (1 − z) ⊙ n + z ⊙ h")
    _pass("gru_cell equals torch.nn.GRUCell")


# ---- exercise 3: gradient clipping -------------------------------------------------------------------
@exercise_check
def check_exercise_3(clip_by_global_norm: Callable) -> None:
    """The learner's `clip_by_global_norm(grads, max_norm)` must return (clipped grads, total norm before
    clipping) exactly as torch.nn.utils.clip_grad_norm_ does it: scale every gradient by
    max_norm / total_norm when total_norm > max_norm, leave them alone otherwise."""
    torch.manual_seed(0)
    for scale, max_norm in ((10.0, 1.0), (0.01, 1.0), (3.0, 2.5)):
        grads = [torch.randn(3, 4) * scale, torch.randn(5) * scale]
        params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        want_norm = float(nn.utils.clip_grad_norm_(params, max_norm))
        result = clip_by_global_norm([g.clone() for g in grads], max_norm)
        if result is None or not isinstance(result, tuple) or len(result) != 2:
            _fail("clip_by_global_norm should return a tuple (clipped_grads, total_norm)")
        clipped, total = result
        if not math.isclose(float(total), want_norm, rel_tol=1e-5):
            _fail(f"total_norm = {float(total):.4f}, expected {want_norm:.4f} — the global norm is "
                  "sqrt(Σ over ALL gradients of Σ g²), one number for the whole model, not one per tensor")
        for got, p in zip(clipped, params):
            if not torch.allclose(got, p.grad, atol=1e-5):
                _fail(f"with total norm {want_norm:.3f} and max_norm {max_norm}, the clipped gradients differ "
                      "from torch's — scale every tensor by the SAME factor max_norm / total_norm, and only "
                      "when total_norm > max_norm (a small gradient is left unchanged)")
    _pass("clip_by_global_norm agrees with torch.nn.utils.clip_grad_norm_ (clipped and unclipped cases)")
