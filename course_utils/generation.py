"""Decoding: turn a language model's next-token logits back into text, one token at a time.

    logits (B, V) ─ ÷ temperature ─ apply_top_k ─ apply_top_p ─ softmax ─ sample  →  next id (B,)
                 └──────────────────────── argmax (greedy) ───────────────────────→

* greedy — always the most likely token: deterministic, and prone to loops.
* temperature T — logits / T: T < 1 sharpens the distribution, T > 1 flattens it.
* top-k — sample only among the k most likely tokens.
* top-p (nucleus) — sample only among the smallest set of tokens whose probability mass is ≥ p.

`generate` works with any model that maps ids (B, T) to logits (B, T, V); if the model has a
`block_size`, the context is cropped to its last `block_size` tokens. Search strategies that keep several
hypotheses (beam search) belong next to `generate` as their own functions that reuse `next_token_logits`.
"""
from __future__ import annotations

import torch
from torch import nn

STRATEGIES = ("greedy", "sample")


# ---------------------------------------------------------------------------------------------------
# small pure functions on logits (…, V); filtered-out tokens get -inf, i.e. probability 0
# ---------------------------------------------------------------------------------------------------
def _check_logits(logits: torch.Tensor) -> None:
    if not torch.is_tensor(logits) or logits.dim() < 1 or not logits.is_floating_point():
        desc = f"{logits.dtype} tensor of shape {tuple(logits.shape)}" if torch.is_tensor(logits) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor of shape (..., V), got {desc}")


def check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")


def check_top_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be an int ≥ 1, got {k!r}")


def check_top_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise ValueError(f"top_p must be a number in (0, 1], got {p!r}")


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / T: softmax(z / T) is sharper for T < 1, flatter for T > 1, unchanged for T = 1."""
    _check_logits(logits)
    check_temperature(temperature)
    return logits / temperature


def apply_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits in each row, set the rest to -inf. k ≥ V keeps everything.

    Ties at the k-th value are broken by position (exactly k survive per row).
    """
    _check_logits(logits)
    check_top_k(k)
    k = min(k, logits.size(-1))
    keep = logits.topk(k, dim=-1).indices                                   # (…, k)
    filtered = torch.full_like(logits, float("-inf"))
    return filtered.scatter(-1, keep, logits.gather(-1, keep))


def apply_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most-likely tokens whose total probability is ≥ p; the rest → -inf.

    Sort probabilities in descending order; token i survives when the mass *before* it is < p, so the
    first token always survives and the kept set is the shortest prefix reaching p.
    """
    _check_logits(logits)
    check_top_p(p)
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)   # (…, V) each
    mass_before = probs.cumsum(dim=-1) - probs                               # (…, V)
    keep_sorted = mass_before < p                                            # a prefix of each row
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)     # back to vocabulary order
    return logits.masked_fill(~keep, float("-inf"))


def next_token_logits(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """The model's logits for the token after `idx` (B, T) → (B, V), with the context cropped to the
    model's block_size (if it has one)."""
    block_size = getattr(model, "block_size", None)
    context = idx if block_size is None else idx[:, -block_size:]           # (B, ≤ block_size)
    return model(context)[:, -1, :]                                          # (B, V)


def choose_next_token(logits: torch.Tensor, strategy: str = "sample", temperature: float = 1.0,
                      top_k: int | None = None, top_p: float | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick one id per row of logits (B, V) → (B,): argmax for greedy, else sample from the filtered
    softmax(logits / temperature)."""
    if strategy == "greedy":
        return logits.argmax(dim=-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = apply_top_k(logits, top_k)
    if top_p is not None:
        logits = apply_top_p(logits, top_p)
    probs = logits.softmax(dim=-1)                                           # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)      # (B,)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, *, strategy: str = "sample",
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Extend the prompts `idx` (B, T) by `max_new_tokens` tokens → (B, T + max_new_tokens).

    strategy="greedy" takes the argmax at every step (temperature/top_k/top_p must be left at their
    defaults); strategy="sample" draws from softmax(logits / temperature), optionally restricted by
    top_k and/or top_p. Pass a seeded `torch.Generator` to make sampling repeatable.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    check_temperature(temperature)
    if top_k is not None:
        check_top_k(top_k)
    if top_p is not None:
        check_top_p(top_p)
    if strategy == "greedy" and (temperature != 1.0 or top_k is not None or top_p is not None):
        raise ValueError(f"strategy='greedy' ignores temperature/top_k/top_p; got temperature={temperature}, "
                         f"top_k={top_k}, top_p={top_p} — use strategy='sample' to apply them")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int ≥ 0, got {max_new_tokens!r}")
    if not torch.is_tensor(idx) or idx.dim() != 2 or idx.size(1) < 1:
        desc = f"shape {tuple(idx.shape)}" if torch.is_tensor(idx) else type(idx).__name__
        raise ValueError(f"idx must be a (B, T) tensor of token ids with T ≥ 1, got {desc}")
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            logits = next_token_logits(model, idx)                           # (B, V)
            nxt = choose_next_token(logits, strategy, temperature, top_k, top_p, generator)  # (B,)
            idx = torch.cat([idx, nxt[:, None]], dim=1)                      # (B, T + 1)
    finally:
        model.train(was_training)
    return idx
