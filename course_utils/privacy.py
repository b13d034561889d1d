"""Memorisation of training data, measured: canaries and exposure (Carlini et al. 2019, "The Secret Sharer").

    1) plant a random secret — a "canary" such as "Ada's PIN is 4 7 1 9" — k times in the training text
    2) train the model exactly as usual
    3) score every candidate secret s of the space R (all 10⁴ PINs) by its log-perplexity
           log-perplexity(s) = −log₂ P(s | prefix) = −Σᵢ log₂ P(sᵢ | prefix, s₁ … sᵢ₋₁)     (bits)
    4) rank the true secret among all candidates (rank 1 = lowest log-perplexity = the model's top guess)
           exposure = log₂ |R| − log₂ rank
       ≈ 0 bits: the secret is no more likely than a typical candidate (nothing leaked);
       log₂ |R| bits (13.3 for 10⁴ PINs): it is the model's favourite — an attacker reads it out by ranking.

When R is too large to enumerate, `exposure_by_sampling` estimates the rank from a random sample of R.
"""
from __future__ import annotations

import math
import random
from itertools import product
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from course_utils.validation import require_int


# ---------------------------------------------------------------------------------------------------
# 1) canaries: build them, plant them, and (as a mitigation) remove duplicated lines
# ---------------------------------------------------------------------------------------------------
DIGITS = "0123456789"


def _check_pin_format(n_digits: int, sep: str, digits: str) -> None:
    n_digits = require_int(n_digits, "n_digits", minimum=1, maximum=6)
    if not isinstance(sep, str):
        raise TypeError(f"sep must be str, got {type(sep).__name__}")
    if not isinstance(digits, str) or len(digits) < 2 or len(set(digits)) != len(digits):
        raise ValueError(f"digits must be a str of at least 2 distinct characters, got {digits!r}")


def pin_candidates(n_digits: int = 4, sep: str = " ", digits: str = DIGITS) -> list[str]:
    """Every PIN of `n_digits` symbols from `digits`, `sep` between them, in order: "0 0 0 0" … "9 9 9 9"
    (|R| = len(digits) ** n_digits candidates)."""
    _check_pin_format(n_digits, sep, digits)
    return [sep.join(p) for p in product(digits, repeat=n_digits)]


def random_pin(rng: random.Random, n_digits: int = 4, sep: str = " ", digits: str = DIGITS) -> str:
    """One PIN drawn uniformly from `pin_candidates(n_digits, sep, digits)` with the caller's seeded `rng`."""
    if not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random (seeded), got {type(rng).__name__}")
    _check_pin_format(n_digits, sep, digits)
    return sep.join(rng.choice(digits) for _ in range(n_digits))


def insert_canaries(text: str, canaries: Mapping[str, int], seed: int = 0) -> str:
    """Return `text` with each canary line inserted `canaries[line]` times at random line starts.

    Positions are drawn (with a seeded RNG) among the starts of existing lines, so every copy is a whole
    line of its own, like a leaked record in a scraped corpus.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    if not isinstance(canaries, Mapping) or not canaries:
        raise ValueError(f"canaries must be a non-empty mapping {{line: repetitions}}, got {canaries!r}")
    copies = []
    for line, repetitions in canaries.items():
        if not isinstance(line, str) or not line or "\n" in line:
            raise ValueError(f"each canary must be a non-empty one-line str, got {line!r}")
        repetitions = require_int(repetitions, f"repetitions of {line!r}", minimum=1)
        copies += [line] * repetitions
    rng = random.Random(seed)
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n" and i + 1 < len(text)]
    where = sorted(rng.choice(line_starts) for _ in copies)            # one position per copy
    rng.shuffle(copies)                                                # which canary goes where
    pieces, last = [], 0
    for position, line in zip(where, copies):
        pieces += [text[last:position], line, "\n"]
        last = position
    return "".join(pieces) + text[last:]


def deduplicate_lines(text: str, min_chars: int = 20) -> str:
    """Keep only the first copy of every line of at least `min_chars` characters (shorter lines — "ACT I.",
    speaker names — repeat legitimately and are all kept). Exact-match deduplication, as applied to
    web-scale training sets (Lee et al. 2022), at line granularity."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    min_chars = require_int(min_chars, "min_chars", minimum=1)
    seen: set[str] = set()
    kept = []
    for line in text.split("\n"):
        if len(line) >= min_chars:
            if line in seen:
                continue
            seen.add(line)
        kept.append(line)
    return "\n".join(kept)


# ---------------------------------------------------------------------------------------------------
# 2) log-perplexity of candidate secrets under a language model (token ids (B, T) → logits (B, T, V))
# ---------------------------------------------------------------------------------------------------
def _encode(tokenizer, text: str, argument: str) -> list[int]:
    if not isinstance(text, str):
        raise TypeError(f"{argument} must be str, got {type(text).__name__}")
    if not hasattr(tokenizer, "encode"):
        raise TypeError(f"tokenizer must have an .encode(str) method, got {type(tokenizer).__name__}")
    return list(tokenizer.encode(text))


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def sequence_log_perplexity(model: nn.Module, tokenizer, prefix: str, secret: str) -> float:
    """−log₂ P(secret | prefix) in bits, one forward pass: the plain definition, for checking the
    batched `candidate_log_perplexities`. The prefix is cropped on the left to fit the model's context."""
    prefix_ids, secret_ids = _encode(tokenizer, prefix, "prefix"), _encode(tokenizer, secret, "secret")
    if not prefix_ids or not secret_ids:
        raise ValueError(f"prefix and secret must both be non-empty, got {prefix!r} and {secret!r}")
    ids = _crop(prefix_ids, len(secret_ids), model) + secret_ids
    was_training = model.training
    model.eval()
    x = torch.tensor([ids[:-1]], device=_device(model))                      # (1, T)
    log_probs = model(x).float().log_softmax(-1)[0]                            # (T, V)
    model.train(was_training)
    targets = torch.tensor(ids[1:], device=log_probs.device)                   # (T,)
    picked = log_probs[-len(secret_ids):].gather(-1, targets[-len(secret_ids):, None])
    return float(-picked.sum() / math.log(2))


def _crop(prefix_ids: list[int], n_secret: int, model: nn.Module) -> list[int]:
    """Keep the last prefix tokens so that prefix + secret − 1 inputs fit in model.block_size."""
    block_size = getattr(model, "block_size", None)
    if block_size is None:
        return prefix_ids
    room = block_size + 1 - n_secret
    if room < 1:
        raise ValueError(f"a secret of {n_secret} tokens does not fit a model with block_size={block_size}")
    return prefix_ids[-room:]


@torch.no_grad()
def candidate_log_perplexities(model: nn.Module, tokenizer, prefix: str, candidates: Sequence[str],
                               batch_size: int = 512) -> np.ndarray:
    """−log₂ P(candidate | prefix) in bits for every candidate: (N,) float64.

    All candidates must have the same number of tokens. Candidates that differ only in their last token
    share a "stem": one forward pass over prefix + stem gives every position's next-token distribution,
    so it scores the stem *and* every possible last token at once. For the 10⁴ PINs "d d d d" that is
    10³ sequences instead of 10⁴ — the same numbers, 10× less work.
    """
    if isinstance(candidates, str) or not len(candidates):
        raise ValueError("candidates must be a non-empty list of str")
    batch_size = require_int(batch_size, "batch_size", minimum=1)
    encoded = [_encode(tokenizer, c, "each candidate") for c in candidates]
    lengths = {len(e) for e in encoded}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"candidates must all encode to the same non-zero number of tokens, got lengths "
                         f"{sorted(lengths)[:5]}")
    n_secret = lengths.pop()
    prefix_ids = _crop(_encode(tokenizer, prefix, "prefix"), n_secret, model)
    if not prefix_ids:
        raise ValueError("prefix must be non-empty: the first secret token needs a context")
    stems = sorted({tuple(e[:-1]) for e in encoded})                         # distinct "all but last"
    stem_row = {stem: i for i, stem in enumerate(stems)}
    inputs = torch.tensor([prefix_ids + list(stem) for stem in stems], device=_device(model))  # (S, T)
    T_prefix = len(prefix_ids)
    was_training = model.training
    model.eval()
    stem_bits, last_bits = [], []
    for start in range(0, len(stems), batch_size):
        x = inputs[start:start + batch_size]                                   # (b, T)
        log_probs = model(x).float().log_softmax(-1)                           # (b, T, V)
        # positions T_prefix-1 … T-1 predict secret tokens 1 … n; the stem's own tokens are x[:, T_prefix:]
        stem_lp = log_probs[:, T_prefix - 1:-1].gather(-1, x[:, T_prefix:, None]).sum(dim=(1, 2))  # (b,)
        stem_bits.append(-stem_lp / math.log(2))
        last_bits.append(-log_probs[:, -1] / math.log(2))                      # (b, V): every last token
    model.train(was_training)
    stem_bits, last_bits = torch.cat(stem_bits).cpu(), torch.cat(last_bits).cpu()
    rows = torch.tensor([stem_row[tuple(e[:-1])] for e in encoded])
    last = torch.tensor([e[-1] for e in encoded])
    return (stem_bits[rows] + last_bits[rows, last]).double().numpy()


# ---------------------------------------------------------------------------------------------------
# 3) rank and exposure
# ---------------------------------------------------------------------------------------------------
def _scores(values, argument: str) -> np.ndarray:
    array = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{argument} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{argument} contains NaN")
    return array


def secret_rank(secret_score: float, candidate_scores) -> int:
    """1 + the number of candidates with a strictly lower log-perplexity (ties count in the secret's favour).
    `candidate_scores` are the scores of the whole space R, the secret included."""
    scores = _scores(candidate_scores, "candidate_scores")
    return 1 + int(np.sum(scores < float(secret_score)))


def exposure(secret_score: float, candidate_scores) -> float:
    """exposure = log₂ |R| − log₂ rank, in bits, exactly, from the scores of every candidate in R."""
    scores = _scores(candidate_scores, "candidate_scores")
    return math.log2(len(scores)) - math.log2(secret_rank(secret_score, scores))


def chance_exposure(space_size: int) -> float:
    """The mean exposure of a secret the model knows nothing about: its rank is uniform on 1 … |R|, so

        E[exposure] = log₂ |R| − mean over r of log₂ r  →  log₂ e ≈ 1.44 bits for large |R|.

    The baseline for a canary that appears once: exposures near this value are chance, not memorisation."""
    space_size = require_int(space_size, "space_size", minimum=1)
    ranks = np.arange(1, space_size + 1, dtype=float)
    return float(math.log2(space_size) - np.log2(ranks).mean())


def exposure_by_sampling(secret_score: float, sampled_scores, space_size: int) -> float:
    """Estimate exposure when R is too big to enumerate: score n candidates drawn uniformly from R.

    The fraction of sampled candidates that beat the secret estimates the fraction of R that does, so
    rank ≈ 1 + (|R| − 1) · (#beating / n). The estimate resolves exposures up to about log₂ n bits; when
    no sample beats the secret it returns the ceiling log₂ |R| (read it as "at least ≈ log₂ n").
    """
    scores = _scores(sampled_scores, "sampled_scores")
    space_size = require_int(space_size, "space_size", minimum=len(scores))  # ≥ the number of samples
    fraction_beating = float(np.mean(scores < float(secret_score)))
    rank = 1 + (space_size - 1) * fraction_beating
    return math.log2(space_size) - math.log2(rank)
