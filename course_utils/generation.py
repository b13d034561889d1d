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

`generate(..., use_cache=True)` keeps the model's keys and values (course_utils/kv_cache.py) so each new
token costs one position instead of the whole prefix: the same tokens, several times faster (base model,
128 new tokens: ×3.6 on one busy core; benchmarks/kv_cache_speed.py).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from course_utils.env import model_device
from course_utils.validation import require_int, require_real

STRATEGIES = ("greedy", "sample")


# ---------------------------------------------------------------------------------------------------
# small pure functions on logits (…, V); filtered-out tokens get -inf, i.e. probability 0
# ---------------------------------------------------------------------------------------------------
def _check_logits(logits: torch.Tensor) -> None:
    if not torch.is_tensor(logits) or logits.dim() < 1 or not logits.is_floating_point():
        desc = f"{logits.dtype} tensor of shape {tuple(logits.shape)}" if torch.is_tensor(logits) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor of shape (..., V), got {desc}")


def check_temperature(temperature: float) -> float:
    """temperature as a float > 0 (NumPy/torch scalars accepted), else ValueError."""
    return require_real(temperature, "temperature", above=0)


def check_top_k(k: int) -> int:
    """top_k as an int ≥ 1 (NumPy/torch scalars accepted), else ValueError."""
    return require_int(k, "top_k", minimum=1)


def check_top_p(p: float) -> float:
    """top_p as a float in (0, 1] (NumPy/torch scalars accepted), else ValueError."""
    return require_real(p, "top_p", above=0, at_most=1)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / T: softmax(z / T) is sharper for T < 1, flatter for T > 1, unchanged for T = 1."""
    _check_logits(logits)
    return logits / check_temperature(temperature)


def apply_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits in each row, set the rest to -inf. k ≥ V keeps everything.

    Ties at the k-th value are broken by position (exactly k survive per row).
    """
    _check_logits(logits)
    k = min(check_top_k(k), logits.size(-1))
    keep = logits.topk(k, dim=-1).indices                                   # (…, k)
    filtered = torch.full_like(logits, float("-inf"))
    return filtered.scatter(-1, keep, logits.gather(-1, keep))


def apply_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most-likely tokens whose total probability is ≥ p; the rest → -inf.

    Sort probabilities in descending order; token i survives when the mass *before* it is < p, so the
    first token always survives and the kept set is the shortest prefix reaching p. p = 1 keeps every
    token (a float cumulative sum can reach 1.0 before the last token, so it is not left to the sum).
    Probabilities are computed in float32 even for bf16/fp16 logits, so the nucleus does not depend on
    the logits' precision.
    """
    _check_logits(logits)
    p = check_top_p(p)
    if p >= 1.0:
        return logits
    probs, order = logits.float().softmax(dim=-1).sort(dim=-1, descending=True)  # (…, V) each, float32
    mass_before = probs.cumsum(dim=-1) - probs                               # (…, V)
    keep_sorted = mass_before < p                                            # a prefix of each row
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)     # back to vocabulary order
    return logits.masked_fill(~keep, float("-inf"))


def next_token_logits(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """The model's logits for the token after `idx` (B, T) → (B, V), with the context cropped to the
    model's block_size (if it has one); `idx` is moved to the model's device, the logits stay there."""
    block_size = getattr(model, "block_size", None)
    context = idx if block_size is None else idx[:, -block_size:]           # (B, ≤ block_size)
    return model(context.to(model_device(model)))[:, -1, :]                                          # (B, V)


def cached_next_token_logits(model: nn.Module, idx: torch.Tensor, kv_cache) -> torch.Tensor:
    """The logits for the token after `idx` (B, T) → (B, V), running only the positions that `kv_cache` does
    not hold yet (the whole prompt the first time, then one token per call) and appending them to it.
    `idx` must fit in the model's block_size and extend what the cache holds; it is moved to the model's device."""
    new = idx[:, kv_cache.length:]                                           # (B, T - cached), usually (B, 1)
    return model(new.to(model_device(model)), kv_cache=kv_cache)[:, -1, :]   # (B, V)


def choose_next_token(logits: torch.Tensor, strategy: str = "sample", temperature: float = 1.0,
                      top_k: int | None = None, top_p: float | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick one id per row of logits (B, V) → (B,): argmax for greedy, else sample from the filtered
    softmax(logits / temperature). A `generator` on another device than the logits (a CPU generator
    for a cuda model) is honoured: the draw happens on the generator's device and the ids come back."""
    if strategy == "greedy":
        return logits.argmax(dim=-1)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = apply_top_k(logits, top_k)
    if top_p is not None:
        logits = apply_top_p(logits, top_p)
    probs = logits.softmax(dim=-1)                                           # (B, V)
    if generator is not None and generator.device != probs.device:
        # Draw on the generator's device (a seeded CPU generator with a cuda/mps model): the random
        # numbers come from that generator, so its seed means the same on every device.
        return torch.multinomial(probs.to(generator.device), 1, generator=generator).squeeze(-1).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)      # (B,)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, *, strategy: str = "sample",
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             generator: torch.Generator | None = None, banned_ids: Sequence[int] | None = None,
             stop_id: int | None = None, use_cache: bool = False) -> torch.Tensor:
    """Extend the prompts `idx` (B, T) by up to `max_new_tokens` tokens → (B, T + n_new).

    strategy="greedy" takes the argmax at every step (temperature/top_k/top_p must be left at their
    defaults); strategy="sample" draws from softmax(logits / temperature), optionally restricted by
    top_k and/or top_p. Pass a seeded `torch.Generator` to make sampling repeatable.

    `banned_ids` can never be produced (their logits are set to -inf before choosing, e.g. a chat
    model's speaker tokens). With `stop_id`, a row that produces it is finished: it is padded with
    `stop_id` from then on, and generation ends early once every row has finished (the stop token is
    kept in the output, so a caller can see that the row ended rather than ran out of tokens).

    `idx` is moved to the model's device (a model moved to cuda/mps works with CPU prompts); the result
    comes back on `idx`'s own device. A CPU `generator` works with a cuda/mps model (see choose_next_token).

    `use_cache=True` (a model with `new_kv_cache`, such as the course GPT): the prompt is run once, then each
    step feeds only the newest token and attends over the keys and values kept from earlier steps, so a
    step costs one position instead of T. The tokens are the same as without the cache (tests/test_kv_cache.py,
    greedy and seeded sampling); the logits agree to float rounding only (≈ 1e-5: a matrix product over one
    row does not add in the same order as over T rows), so a near-tie between two tokens could in principle
    break the other way — which is why the default stays False and outputs computed without it never move.
    The cache holds one window: once the sequence is longer than block_size the window slides, every token's
    position changes (and the oldest token drops out of every later token's attention), so the stored keys and
    values are stale — from then on each step recomputes the whole window, exactly as without the cache.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    temperature = check_temperature(temperature)
    if top_k is not None:
        top_k = check_top_k(top_k)
    if top_p is not None:
        top_p = check_top_p(top_p)
    if strategy == "greedy" and (temperature != 1.0 or top_k is not None or top_p is not None):
        raise ValueError(f"strategy='greedy' ignores temperature/top_k/top_p; got temperature={temperature}, "
                         f"top_k={top_k}, top_p={top_p} — use strategy='sample' to apply them")
    max_new_tokens = require_int(max_new_tokens, "max_new_tokens", minimum=0)
    if not torch.is_tensor(idx) or idx.dim() != 2 or idx.size(1) < 1:
        desc = f"shape {tuple(idx.shape)}" if torch.is_tensor(idx) else type(idx).__name__
        raise ValueError(f"idx must be a (B, T) tensor of token ids with T ≥ 1, got {desc}")
    banned = None if banned_ids is None else [require_int(i, "banned_ids", minimum=0) for i in banned_ids]
    if stop_id is not None:
        stop_id = require_int(stop_id, "stop_id", minimum=0)
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache must be True or False, got {use_cache!r}")
    if use_cache and not callable(getattr(model, "new_kv_cache", None)):
        raise ValueError(f"use_cache=True needs a model with a KV cache (a method new_kv_cache(batch_size), such "
                         f"as course_utils.transformer.GPT); got {type(model).__name__}: pass use_cache=False")
    block_size = getattr(model, "block_size", None)
    caller_device = idx.device
    idx = idx.to(model_device(model))                                       # follow a moved model
    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)  # (B,)
    was_training = model.training
    model.eval()
    kv_cache = None
    try:
        for _ in range(max_new_tokens):
            if use_cache and (block_size is None or idx.size(1) <= block_size):  # the window has not slid yet
                if kv_cache is None:
                    kv_cache = model.new_kv_cache(idx.size(0))
                logits = cached_next_token_logits(model, idx, kv_cache)      # (B, V)
            else:                                                            # no cache, or past block_size
                logits = next_token_logits(model, idx)                       # (B, V): the whole window
            if banned:  # out of place: the model's output may be a view of something it keeps
                logits = logits.index_fill(-1, torch.tensor(banned, device=logits.device), float("-inf"))
            nxt = choose_next_token(logits, strategy, temperature, top_k, top_p, generator)  # (B,)
            if stop_id is not None:
                nxt = nxt.masked_fill(finished, stop_id)                     # finished rows stay finished
                finished |= nxt == stop_id
            idx = torch.cat([idx, nxt[:, None]], dim=1)                      # (B, T + 1)
            if stop_id is not None and bool(finished.all()):
                break
    finally:
        model.train(was_training)
    return idx.to(caller_device)
