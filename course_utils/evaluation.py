"""Evaluation beyond the loss: one scale for every tokenizer, multiple choice by likelihood, contamination.

* bits per byte — a model's total loss on a text, in bits, divided by the text's UTF-8 bytes. Nats per
  *token* depend on the tokenizer (a BPE token holds several characters, a character-level token one), so
  they compare nothing across models; bits per byte count the same bytes whatever the tokens are:

      bits/byte = (nats per character / ln 2) × (characters / bytes)

* multiple choice by log-likelihood — no generation: the model scores each option as a continuation of the
  question, Σ log p(option tokens | context), and the highest-scoring option is its answer (how
  HellaSwag-style benchmarks score models that cannot yet follow an instruction).
* contamination — a test item seen in training is answered from memory: `course_utils.instructions`
  `.check_disjoint` guards the splits; notebook 12 shows what a leak does to the score.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from course_utils.env import model_device
from course_utils.validation import require_real


def bits_per_byte(nats_per_char: float, text: str) -> float:
    """Convert a loss in nats per character of `text` to bits per UTF-8 byte of the same text."""
    nats_per_char = require_real(nats_per_char, "nats_per_char", at_least=0)
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {type(text).__name__}")
    return nats_per_char / math.log(2) * len(text) / len(text.encode("utf-8"))


@torch.no_grad()
def continuation_logprobs(model: nn.Module, contexts: Sequence[Sequence[int]],
                          continuations: Sequence[Sequence[int]], batch_size: int = 64) -> list[float]:
    """Σ log p(continuation tokens | context) for each (context, continuation) pair of token-id lists.
    A pair longer than the model's block keeps the end of its context. Pairs of one total length share a
    forward pass (no padding, so no position sees anything but its own sequence)."""
    if isinstance(contexts, str) or len(contexts) != len(continuations) or not contexts:
        raise ValueError(f"need as many continuations as contexts (> 0), got {len(continuations)} and {len(contexts)}")
    block = model.config.block_size
    rows = []                                                                    # (ids, n continuation tokens)
    for context, continuation in zip(contexts, continuations):
        context, continuation = [int(i) for i in context], [int(i) for i in continuation]
        if not context or not continuation or len(continuation) >= block:
            raise ValueError(f"each context must be non-empty and each continuation 1 … {block - 1} tokens, got "
                             f"{len(context)} and {len(continuation)}")
        rows.append(((context + continuation)[-(block + 1):], len(continuation)))
    by_length: dict[int, list[int]] = {}
    for i, (ids, _) in enumerate(rows):
        by_length.setdefault(len(ids), []).append(i)
    was_training = model.training
    model.eval()
    out = [0.0] * len(rows)
    for chunk_rows in by_length.values():
        for start in range(0, len(chunk_rows), batch_size):
            chunk = chunk_rows[start : start + batch_size]
            ids = torch.tensor([rows[i][0] for i in chunk], device=model_device(model))     # (B, L)
            logp = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)                      # (B, L-1, V)
            picked = logp.gather(-1, ids[:, 1:, None]).squeeze(-1)                           # (B, L-1)
            for row, i in enumerate(chunk):
                out[i] = picked[row, -rows[i][1]:].sum().item()     # the positions predicting the continuation
    model.train(was_training)
    return out


def choose_by_likelihood(model: nn.Module, contexts: Sequence[Sequence[int]],
                         options: Sequence[Sequence[Sequence[int]]]) -> list[int]:
    """For each question, the index of the option (token ids) with the highest summed log-probability
    after its context (token ids): multiple choice without generating anything."""
    if len(contexts) != len(options):
        raise ValueError(f"need one list of options per context, got {len(options)} for {len(contexts)}")
    flat = [(c, o) for c, opts in zip(contexts, options) for o in opts]
    scores = continuation_logprobs(model, [c for c, _ in flat], [o for _, o in flat])
    choices, pos = [], 0
    for opts in options:
        mine = scores[pos : pos + len(opts)]
        choices.append(max(range(len(opts)), key=mine.__getitem__))
        pos += len(opts)
    return choices
