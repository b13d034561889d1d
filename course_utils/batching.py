"""Batching: turning token ids into the tensors a training step eats.

* Language models (notebooks 02, 05, 10, 11): `lm_batch` draws random windows from one long id tensor,
  `lm_batcher` wraps it as the `get_batch(split)` that `train_model` calls, and `lm_eval_windows` cuts a
  held-out tensor into non-overlapping windows once (a fixed evaluation set).

      ids (N,) ─ random starts ─→ x (B, T) = ids[s : s + T],  y (B, T) = ids[s + 1 : s + T + 1]

* Ragged sequences (classifier, seq2seq, dialogue): `pad_batch` right-pads lists of ids into one
  (B, T) tensor; `epoch_batcher` serves shuffled mini-batches, every item once per epoch.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

import torch

from course_utils.validation import require_int

Batch = TypeVar("Batch")


# ---------------------------------------------------------------------------------------------------
# language-model windows from one long id tensor
# ---------------------------------------------------------------------------------------------------
def lm_batch(ids: torch.Tensor, block_size: int, batch_size: int,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows from a 1-D id tensor: inputs x (B, T) and next-token targets y (B, T)."""
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids, got shape {tuple(ids.shape)}")
    if block_size < 1 or batch_size < 1:
        raise ValueError(f"block_size and batch_size must be ≥ 1, got {block_size} and {batch_size}")
    if len(ids) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {len(ids)}")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = ids[starts[:, None] + offsets]       # (B, T)
    y = ids[starts[:, None] + offsets + 1]   # (B, T) — the same windows shifted by one
    return x, y


def lm_batcher(train_ids: torch.Tensor, val_ids: torch.Tensor, block_size: int, batch_size: int,
               seed: int = 0) -> Callable[[str], tuple[torch.Tensor, torch.Tensor]]:
    """`get_batch(split)` for the training loop, with its own seeded generator per split."""
    splits = {"train": train_ids, "val": val_ids}
    gens = {name: torch.Generator().manual_seed(seed + i) for i, name in enumerate(splits)}

    def get_batch(split: str = "train"):
        if split not in splits:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        return lm_batch(splits[split], block_size, batch_size, gens[split])

    return get_batch


def lm_eval_windows(ids: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping (x, y) windows covering a held-out tensor once: a deterministic evaluation set."""
    n = (len(ids) - 1) // block_size
    if n < 1:
        raise ValueError(f"need more than block_size={block_size} tokens, got {len(ids)}")
    x = ids[: n * block_size].view(n, block_size)
    y = ids[1 : n * block_size + 1].view(n, block_size)
    return x, y


# ---------------------------------------------------------------------------------------------------
# ragged sequences: padding and shuffled epochs
# ---------------------------------------------------------------------------------------------------
def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0, max_len: int | None = None) -> torch.Tensor:
    """Ragged id lists → a (B, T) long tensor, right-padded with `pad_id`; T = the longest row.

    `max_len` caps T: a row longer than max_len keeps its first max_len ids (a review longer than a
    classifier's max_len is cut, not refused). Without max_len nothing is ever cut, which is what
    seq2seq and dialogue batches rely on. An empty row becomes a single <pad>.
    """
    if len(sequences) == 0:
        raise ValueError("sequences must contain at least one sequence, got an empty list")
    if max_len is not None:
        max_len = require_int(max_len, "max_len", minimum=1)
    rows = [list(s)[:max_len] if max_len else list(s) for s in sequences]
    T = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), T), pad_id, dtype=torch.long)    # (B, T)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


def epoch_batcher(n_items: int, batch_size: int, make_batch: Callable[[torch.Tensor], Batch],
                  seed: int = 0) -> Callable[[str], Batch]:
    """`get_batch(split)` for `train_model` over `n_items` examples: each epoch visits every example once
    in a seeded random order, `batch_size` at a time; `make_batch(indices)` (a (batch_size,) long tensor)
    builds the batch. The few examples left over at the end of an epoch wait for the next shuffle.

    Only split="train" is served: evaluate on fixed tensors instead.
    """
    batch_size = require_int(batch_size, "batch_size", minimum=1, maximum=n_items)
    generator = torch.Generator().manual_seed(seed)
    state = {"order": torch.empty(0, dtype=torch.long), "pos": 0}

    def get_batch(split: str = "train") -> Batch:
        if split != "train":
            raise ValueError(f"this batcher serves split='train' only, got {split!r}; evaluate on fixed tensors")
        if state["pos"] + batch_size > len(state["order"]):  # new epoch: reshuffle
            state["order"], state["pos"] = torch.randperm(n_items, generator=generator), 0
        idx = state["order"][state["pos"] : state["pos"] + batch_size]
        state["pos"] += batch_size
        return make_batch(idx)

    return get_batch
