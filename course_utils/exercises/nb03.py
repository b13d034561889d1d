"""Checkers for notebook 03 (the attention formula): a stable log-softmax, a sliding-window causal mask,
and the entropy of attention rows."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_utils.exercises import _fail, _pass, exercise_check


def _as_tensor(got, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    if got is None:
        _fail(f"{name} returned None — return a tensor of shape {shape}")
    if not isinstance(got, torch.Tensor):
        _fail(f"{name} should return a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != shape:
        _fail(f"{name} should return shape {shape}, got {tuple(got.shape)}")
    return got


LOG_SOFTMAX_CASES = (
    torch.tensor([1.0, 2.0, 3.0]),
    torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, 0.0, 1000.0]]),   # naive exp overflows to inf → nan
    torch.tensor([[0.0, -1000.0]]),                                     # naive log(softmax) = log(0) = -inf
    torch.linspace(-30, 30, 24).view(2, 3, 4),
)


@exercise_check
def check_exercise_1(stable_log_softmax: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """The learner's `stable_log_softmax(x)` (over the last dim) must equal torch.log_softmax, even for
    scores of ±1000 where exp() overflows and softmax underflows to 0."""
    for x in LOG_SOFTMAX_CASES:
        got = _as_tensor(stable_log_softmax(x.clone()), "stable_log_softmax", tuple(x.shape))
        if not torch.isfinite(got).all():
            _fail(f"stable_log_softmax({x.tolist()}) contains nan/inf: {got.tolist()} — never take log of "
                  "a softmax that underflowed to 0: log softmax(x) = (x − m) − log Σ exp(x − m), m = row max")
        want = torch.log_softmax(x, dim=-1)
        if not torch.allclose(got, want, atol=1e-5):
            _fail(f"stable_log_softmax({x.tolist()}) = {got.tolist()}, expected {want.tolist()} — work over "
                  "the LAST dimension, with keepdim=True so the shapes broadcast")
    _pass(f"stable_log_softmax equals torch.log_softmax on {len(LOG_SOFTMAX_CASES)} inputs, "
          "including scores of ±1000")


def _reference_local_mask(size: int, window: int) -> torch.Tensor:
    t = torch.arange(size)
    offset = t[:, None] - t[None, :]  # query position − key position
    return (offset >= 0) & (offset < window)


LOCAL_CASES = ((5, 1), (5, 2), (6, 3), (4, 4), (4, 10))


@exercise_check
def check_exercise_2(local_causal_mask: Callable[[int, int], torch.Tensor]) -> None:
    """The learner's `local_causal_mask(size, window)` must be a (size, size) bool keep-mask: query t
    may attend to keys t - window + 1 … t."""
    for size, window in LOCAL_CASES:
        got = _as_tensor(local_causal_mask(size, window), f"local_causal_mask({size}, {window})", (size, size))
        if got.dtype != torch.bool:
            _fail(f"local_causal_mask should return a bool tensor (True = keep), got {got.dtype}")
        want = _reference_local_mask(size, window)
        if not torch.equal(got, want):
            row = int((got != want).any(dim=1).nonzero()[0])
            _fail(f"local_causal_mask({size}, {window}), row {row} (query {row}) is "
                  f"{got[row].int().tolist()}, expected {want[row].int().tolist()} — keep key s when "
                  f"0 ≤ t − s < window")
    _pass(f"local_causal_mask is right for {len(LOCAL_CASES)} (size, window) pairs")


@exercise_check
def check_exercise_3(attention_entropy: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """The learner's `attention_entropy(weights)` must return −Σ p log p over the last dim, in nats,
    with 0·log 0 = 0 (masked positions)."""
    one_hot = torch.eye(4)                                     # each row looks at one key only
    uniform = torch.full((2, 5), 0.2)                          # each row spreads evenly over 5 keys
    mixed = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.7, 0.1, 0.1, 0.1]])
    cases = ((one_hot, torch.zeros(4), "one-hot rows"),
             (uniform, torch.full((2,), math.log(5)), "uniform rows over 5 keys"),
             (mixed, torch.tensor([math.log(2), -(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1))]),
              "rows with zeros"))
    for weights, want, what in cases:
        got = _as_tensor(attention_entropy(weights.clone()), "attention_entropy", tuple(want.shape))
        if not torch.isfinite(got).all():
            _fail(f"attention_entropy of {what} has nan/inf: {got.tolist()} — 0·log 0 must count as 0 "
                  "(e.g. torch.special.xlogy(p, p), or p * log(p.clamp_min(1e-12)))")
        if not torch.allclose(got, want, atol=1e-5):
            _fail(f"attention_entropy of {what} = {[round(v, 4) for v in got.tolist()]}, expected "
                  f"{[round(v, 4) for v in want.tolist()]} — entropy is −Σ p·ln p over the last dim (nats)")
    _pass("attention_entropy: 0 for one-hot rows, ln T for uniform rows, 0·log 0 = 0")
