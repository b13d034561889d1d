"""Fine-tuning the course base model: new special tokens, prompt → answer examples, a classification head.

Pretraining gave a GPT that predicts the next token of English text (course_utils.pretrained). Adapting
it to a task reuses every weight and changes three small things, each a function here:

1. `add_special_tokens(model, n)` grows the vocabulary by n tokens the pretraining text never contained
   (`<end>`, `<pad>`, a chat's speaker marks): n new rows of the embedding — which is also the output
   head, the two are tied — initialised to the mean of the existing rows, so the model starts out
   treating them as an "average" token instead of a random one.
2. `prompt_example(...)` turns a (source, answer) pair into one training sequence
   `source + cue + answer + <end>` whose targets are ignored (-100) on the prompt: the loss, and so the
   gradient, comes from the answer only. Notebook 09's `build_example` does the same for dialogue.
3. `GPTClassifier` puts a linear head on the mean of the GPT's final hidden states (08: sentiment).

`complete(...)` then writes answers greedily for many prompts at once (decoder-only translation or summarization), on top of
`greedy_batch(...)`, which continues token-id prompts (notebook 09's chat prompts).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch
from torch import nn

from course_utils.transformer import GPT
from course_utils.validation import require_int

IGNORE = -100   # target id that cross-entropy skips (torch's ignore_index)


def add_special_tokens(model: GPT, n_new: int) -> list[int]:
    """Grow `model`'s vocabulary by `n_new` tokens in place; returns their ids (the old vocab_size onward).

    New embedding rows start at the mean of the old rows. With tied weights the output head is the same
    matrix, so the new tokens can also be predicted (e.g. `<end>`, to stop)."""
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a course GPT, got {type(model).__name__}")
    n_new = require_int(n_new, "n_new", minimum=1)
    old = model.embed.token
    V, C = old.weight.shape
    new = nn.Embedding(V + n_new, C).to(old.weight.device, old.weight.dtype)
    with torch.no_grad():
        new.weight[:V] = old.weight
        new.weight[V:] = old.weight.mean(dim=0)                            # (n_new, C) ← the average token
    model.embed.token = new
    if model.config.tie_weights:
        model.head.weight = new.weight                                      # one matrix, reading and writing
    else:
        head = nn.Linear(C, V + n_new, bias=False).to(old.weight.device, old.weight.dtype)
        with torch.no_grad():
            head.weight[:V] = model.head.weight
            head.weight[V:] = model.head.weight.mean(dim=0)
        model.head = head
    model.config = replace(model.config, vocab_size=V + n_new)
    return list(range(V, V + n_new))


def prompt_example(tokenizer, source: str, answer: str, cue: str, end_id: int, block_size: int,
                   max_answer: int = 40) -> tuple[list[int], list[int]]:
    """One training sequence (inputs, targets), each ≤ block_size tokens:

        sequence = source[:fits] + cue + answer[:max_answer] + <end>
        inputs = sequence[:-1];  targets = sequence[1:], with IGNORE wherever the next token is prompt

    A long source keeps its beginning (the cue, which tells the model "answer now", always stays). An
    answer longer than `max_answer` tokens is cut and then has no <end>."""
    block_size = require_int(block_size, "block_size", minimum=4)
    max_answer = require_int(max_answer, "max_answer", minimum=1)
    reply = [*tokenizer.encode(answer), end_id][: max_answer + 1]
    cue_ids = tokenizer.encode(cue)
    budget = block_size + 1 - len(reply) - len(cue_ids)
    if budget < 1:
        raise ValueError(f"block_size={block_size} leaves no room for the source: cue has {len(cue_ids)} tokens, "
                         f"answer {len(reply)} (lower max_answer={max_answer})")
    prompt = tokenizer.encode(source)[:budget] + cue_ids
    sequence = prompt + reply
    targets = [IGNORE] * (len(prompt) - 1) + reply                           # position t predicts sequence[t + 1]
    return sequence[:-1], targets


def prompt_ids(tokenizer, source: str, cue: str, block_size: int, room: int) -> list[int]:
    """The prompt `prompt_example` would build for `source`, leaving `room` tokens for the answer."""
    cue_ids = tokenizer.encode(cue)
    budget = block_size - room - len(cue_ids)
    if budget < 1:
        raise ValueError(f"block_size={block_size} leaves no room for the source with room={room} answer tokens")
    return tokenizer.encode(source)[:budget] + cue_ids


def complete(model: GPT, tokenizer, sources: Sequence[str], cue: str, end_id: int, max_new_tokens: int = 40,
             batch_size: int = 64) -> list[str]:
    """Greedy answers to many `source + cue` prompts (built as `prompt_example` builds them), decoded to text."""
    if isinstance(sources, str):
        raise TypeError("sources must be a list of strings, got one str")
    max_new_tokens = require_int(max_new_tokens, "max_new_tokens", minimum=1)
    prompts = [prompt_ids(tokenizer, s, cue, model.config.block_size, max_new_tokens) for s in sources]
    return [tokenizer.decode(ids).strip() for ids in greedy_batch(model, prompts, end_id, max_new_tokens, batch_size)]


def greedy_batch(model: GPT, prompts: Sequence[Sequence[int]], end_id: int, max_new_tokens: int = 40,
                 batch_size: int = 64, banned_ids: Sequence[int] = ()) -> list[list[int]]:
    """Greedy continuations of many token-id prompts at once, each without its final `end_id`.

    Prompts of one length go through `generation.generate` together, with the KV cache: the prompt is run
    once, then each new token costs one position instead of the whole sequence (notebook 12 explains the
    cache). A row stops at `end_id` or after `max_new_tokens`; `banned_ids` are never chosen (a chat's
    speaker tokens)."""
    from course_utils.generation import generate

    max_new_tokens = require_int(max_new_tokens, "max_new_tokens", minimum=1)
    batch_size = require_int(batch_size, "batch_size", minimum=1)
    T = model.config.block_size
    too_long = [i for i, p in enumerate(prompts) if not 1 <= len(p) <= T - max_new_tokens]
    if too_long:
        raise ValueError(f"every prompt needs 1 to block_size - max_new_tokens = {T - max_new_tokens} tokens; "
                         f"prompt {too_long[0]} has {len(prompts[too_long[0]])}")
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_length.setdefault(len(p), []).append(i)
    out: list[list[int]] = [[] for _ in prompts]
    for length, rows in sorted(by_length.items()):
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            idx = torch.tensor([list(prompts[i]) for i in chunk])                     # (B, length)
            new = generate(model, idx, max_new_tokens, strategy="greedy", stop_id=end_id, use_cache=True,
                           banned_ids=list(banned_ids) or None)[:, length:]           # (B, ≤ max_new_tokens)
            for i, ids in zip(chunk, new.tolist()):
                out[i] = ids[: ids.index(end_id)] if end_id in ids else ids
    return out


class GPTClassifier(nn.Module):
    """A pretrained GPT body + a linear head on the mean of its final hidden states: (B, T) → (B, classes).

    Right-padded `pad_id` positions are left out of the mean; being after every real token, they never
    change a real token's hidden state in a causal model."""

    def __init__(self, body: GPT, n_classes: int, pad_id: int):
        super().__init__()
        if not isinstance(body, GPT):
            raise TypeError(f"body must be a course GPT, got {type(body).__name__}")
        self.body = body
        self.pad_id = require_int(pad_id, "pad_id", minimum=0)
        self.head = nn.Linear(body.config.d_model, require_int(n_classes, "n_classes", minimum=2))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.body.features(ids)                                   # (B, T, C)
        keep = (ids != self.pad_id).unsqueeze(-1).to(h.dtype)        # (B, T, 1)
        pooled = (h * keep).sum(1) / keep.sum(1).clamp_min(1)         # (B, C)
        return self.head(pooled)                                      # (B, classes)
