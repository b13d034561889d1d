"""LoRA from scratch: fine-tune a few low-rank adapters instead of every weight (Hu et al., 2021).

A frozen linear layer y = W x + b gets a trainable low-rank update:

    y = W x + b + (α / r) · B A x        A: (r, in), B: (out, r), r ≪ min(in, out)

B starts at zero, so the adapted model starts out *equal* to the base model, and only r·(in + out)
numbers per layer are trained. After training the update folds into the weight, W' = W + (α / r) B A
(`merge_lora`): the merged model is a plain GPT with the same outputs and no extra cost at inference;
`unmerge_lora` takes it back out. Initialisation and scaling follow `peft`'s LoraConfig defaults
(A: Kaiming-uniform with a = √5, as nn.Linear initialises its weight; B: zeros; scaling α / r), so the
same A and B give the same outputs as a `peft` model (tests/test_lora.py checks it).

`LoRALinear.weight` is the *effective* weight W + (α / r) B A: the course attention reads w_q, w_k and w_v
through `.weight` to pack them into one matmul, and must see the adapters there. (peft's wrapper returns
the base weight from `.weight`, so on this GPT its q/k/v adapters would be skipped in self-attention until
merged — the test compares with peft on the layers it does reach, and after merging on all of them.)

    from course_utils.lora import add_lora, merge_lora, trainable_fraction
    add_lora(model, rank=8)              # every linear layer inside the blocks; everything else frozen
    trainable_fraction(model)            # e.g. 0.05
    merge_lora(model)                    # W ← W + (α/r)·B A; outputs unchanged
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from course_utils.validation import require_int, require_real

BLOCK_LINEARS = ("w_q", "w_k", "w_v", "w_o", "gate", "up", "down")   # the course GPT's linear layers in a block


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank update: (…, in) → (…, out).

    forward(x) = base(x) + scaling · B(A(dropout(x))), scaling = alpha / rank. While merged, the update
    lives inside base.weight and forward is base(x) alone."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        self.rank = require_int(rank, "rank", minimum=1, maximum=min(base.in_features, base.out_features))
        self.alpha = float(self.rank) if alpha is None else require_real(alpha, "alpha", above=0)
        self.scaling = self.alpha / self.rank
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(self.rank, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, self.rank, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))          # peft's default for A; B stays 0
        self.dropout = nn.Dropout(require_real(dropout, "dropout", at_least=0, below=1))
        self.merged = False

    # Code that reads a layer's weight directly (the course attention packs w_q, w_k, w_v into one matmul
    # through `.weight`) must see the adapted weight, or the adapter would be silently skipped there.
    @property
    def weight(self) -> torch.Tensor:
        """The effective weight W + scaling · B A (differentiable in A and B); W alone once merged."""
        return self.base.weight if self.merged else self.base.weight + self.delta_weight()

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base.bias

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def delta_weight(self) -> torch.Tensor:
        """The update the adapter adds to the weight: scaling · B A, shape (out, in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)                                                # (…, out)
        if self.merged:
            return y
        return y + self.scaling * (self.dropout(x) @ self.lora_A.T @ self.lora_B.T)   # (…, in) → (…, r) → (…, out)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the frozen weight: W ← W + scaling · B A (idempotent)."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the weight: W ← W − scaling · B A (idempotent)."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}, merged={self.merged}"


def _lora_layers(model: nn.Module) -> list[LoRALinear]:
    layers = [m for m in model.modules() if isinstance(m, LoRALinear)]
    if not layers:
        raise ValueError("model has no LoRA layers: call add_lora(model, ...) first")
    return layers


def add_lora(model: nn.Module, rank: int = 8, alpha: float | None = None,
             targets: Sequence[str] = BLOCK_LINEARS, dropout: float = 0.0,
             train_token_ids: Sequence[int] = ()) -> list[str]:
    """Replace, in place, every nn.Linear whose attribute name is in `targets` by a `LoRALinear`, and freeze
    every other parameter of `model` (embeddings, LayerNorms, head): afterwards only the adapters train.
    Returns the qualified names of the wrapped layers. alpha=None means alpha = rank (scaling 1).

    `train_token_ids`: embedding rows that train too (tokens added for fine-tuning, e.g. the chat tokens:
    frozen at their initial mean they would all be one vector, and <|end|> could not be told from <|pad|>);
    see `train_embedding_rows`."""
    if isinstance(targets, str) or not targets:
        raise ValueError(f"targets must be a non-empty list of layer names, got {targets!r}")
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("model already has LoRA layers; add_lora once per model")
    chosen = []                                                         # (qualified name, parent, attribute)
    for parent_name, parent in model.named_modules():
        for attr, child in parent.named_children():
            if attr in targets and isinstance(child, nn.Linear):
                chosen.append((f"{parent_name}.{attr}" if parent_name else attr, parent, attr))
    if not chosen:
        raise ValueError(f"no nn.Linear named one of {list(targets)} in {type(model).__name__}")
    for p in model.parameters():
        p.requires_grad_(False)
    for _, parent, attr in chosen:
        setattr(parent, attr, LoRALinear(getattr(parent, attr), rank, alpha, dropout))
    if len(train_token_ids):
        train_embedding_rows(model, train_token_ids)
    return [name for name, _, _ in chosen]


def train_embedding_rows(model: nn.Module, ids: Sequence[int]) -> None:
    """Let only the rows `ids` of the token embedding (`model.embed.token`, which the GPT's head shares) train:
    the matrix gets requires_grad and a gradient hook zeroes every other row. With AdamW and weight_decay=0
    a row whose gradient is always zero never moves. (peft's `trainable_token_indices` does the same job.)"""
    weight = model.embed.token.weight
    ids = sorted({require_int(i, "train_token_ids", minimum=0, maximum=weight.size(0) - 1) for i in ids})
    if not ids:
        raise ValueError("ids must name at least one embedding row")
    if getattr(weight, "lora_rows", None):
        raise ValueError("embedding rows are already trainable; call train_embedding_rows once")
    mask = torch.zeros(weight.size(0), 1, dtype=weight.dtype, device=weight.device)   # (V, 1)
    mask[ids] = 1
    weight.requires_grad_(True)
    weight.lora_rows = ids                                              # read by trainable_fraction, lora_state_dict
    weight.lora_hook = weight.register_hook(lambda grad: grad * mask)  # (V, C): other rows' gradient is 0


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The adapters' A and B matrices (and the embedding, if some of its rows train): what an optimizer gets
    after `add_lora`. Use weight_decay=0: decay would move the embedding's frozen rows."""
    row_trained = [p for p in model.parameters() if getattr(p, "lora_rows", None)]
    return [p for layer in _lora_layers(model) for p in (layer.lora_A, layer.lora_B)] + row_trained


def trainable_count(model: nn.Module) -> int:
    """Numbers that training can change: every requires_grad tensor, but only the trainable rows of a
    matrix restricted by `train_embedding_rows`."""
    total = 0
    for p in model.parameters():                                        # nn.Module yields a shared tensor once
        if p.requires_grad:
            rows = getattr(p, "lora_rows", None)
            total += len(rows) * p[0].numel() if rows else p.numel()
    return total


def trainable_fraction(model: nn.Module) -> float:
    """Trainable numbers / all parameters (a tied matrix counted once)."""
    return trainable_count(model) / sum(p.numel() for p in model.parameters())


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its weight (W ← W + α/r · B A); the model's outputs do not change."""
    for layer in _lora_layers(model):
        layer.merge()
    return model


def unmerge_lora(model: nn.Module) -> nn.Module:
    """Take every adapter back out of its weight: the base weights again, adapters still attached."""
    for layer in _lora_layers(model):
        layer.unmerge()
    return model


def remove_lora(model: nn.Module, merge: bool = True) -> nn.Module:
    """Replace every LoRALinear by its (merged, if `merge`) nn.Linear: a plain model again, all trainable."""
    for parent in list(model.modules()):
        for attr, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                if merge:
                    child.merge()
                else:
                    child.unmerge()
                setattr(parent, attr, child.base)
    for p in model.parameters():
        if getattr(p, "lora_rows", None):
            p.lora_hook.remove()
            del p.lora_rows, p.lora_hook
        p.requires_grad_(True)
    return model


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapters' tensors (name → tensor), plus the trainable embedding rows ("<name>.rows", the row
    ids in "<name>.row_ids"): what you save and share for a LoRA fine-tune."""
    _lora_layers(model)
    out = {k: v.detach().clone() for k, v in model.state_dict().items() if k.endswith(("lora_A", "lora_B"))}
    for name, p in model.named_parameters():
        if getattr(p, "lora_rows", None):
            out[f"{name}.row_ids"] = torch.tensor(p.lora_rows)
            out[f"{name}.rows"] = p.detach()[p.lora_rows].clone()
    return out
