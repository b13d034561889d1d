"""Optimizers for the course's Transformers: AdamW everywhere, or Muon for the hidden weight matrices.

Muon ("MomentUm Orthogonalized by Newton–Schulz", Jordan et al. 2024; `torch.optim.Muon` since PyTorch 2.9)
takes the momentum update G of a weight matrix and replaces it by the nearest orthogonal matrix — G = U S Vᵀ
becomes U Vᵀ, all singular values ≈ 1 — using a few Newton–Schulz matrix iterations. A plain gradient step is
dominated by a few large singular directions; the orthogonalised step moves every direction at the same
rate. It is meant for 2-D hidden-layer matrices only: embeddings, the output head, biases and LayerNorm
gains stay with AdamW. On our small char-level GPT it reaches a given loss in markedly fewer steps
(benchmarks/char_gpt.py measures it).

`OptimizerGroup` bundles several optimizers so a training loop can treat them as one.
"""
from __future__ import annotations

import warnings
from typing import Iterable

import torch
from torch import nn

KINDS = ("adamw", "muon")


class OptimizerGroup:
    """Several optimizers that step together and look like one to a training loop: `param_groups`
    (all of them, so a learning-rate schedule reaches every group), `zero_grad`, `step`, `state_dict`."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        if not optimizers:
            raise ValueError("OptimizerGroup needs at least one optimizer")
        self.optimizers = list(optimizers)

    @property
    def param_groups(self) -> list[dict]:
        return [group for opt in self.optimizers for group in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()

    def state_dict(self) -> dict:
        return {"optimizers": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict) -> None:
        states = state.get("optimizers", []) if isinstance(state, dict) else []
        if len(states) != len(self.optimizers):
            raise ValueError(f"state holds {len(states)} optimizer states, this group has {len(self.optimizers)}")
        for opt, opt_state in zip(self.optimizers, states):
            opt.load_state_dict(opt_state)

    def __repr__(self) -> str:
        return f"OptimizerGroup({', '.join(type(o).__name__ for o in self.optimizers)})"


def split_parameters(model: nn.Module, output_names: Iterable[str] = ("head",)) -> tuple[list, list]:
    """(hidden matrices, everything else): the 2-D weights of hidden layers — not embeddings (or weights
    tied to them) and not the top-level modules named in `output_names` — vs all other parameters."""
    output_names = set(output_names)
    embedding_ids = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    matrices, others = [], []
    for name, p in model.named_parameters():  # a tied tensor appears once
        if not p.requires_grad:
            continue
        hidden_matrix = p.dim() == 2 and id(p) not in embedding_ids and name.split(".")[0] not in output_names
        (matrices if hidden_matrix else others).append(p)
    return matrices, others


def make_optimizer(model: nn.Module, lr: float, kind: str = "muon", weight_decay: float = 0.1,
                   betas: tuple[float, float] = (0.9, 0.99),
                   adamw_lr: float | None = None) -> torch.optim.Optimizer | OptimizerGroup:
    """AdamW for every parameter (kind="adamw"), or Muon for the hidden matrices + AdamW for the rest
    (kind="muon"). Weight decay applies to matrices only, never to biases or LayerNorm gains.

    Muon's step is rescaled to AdamW's typical size (`adjust_lr_fn="match_rms_adamw"`), so one learning
    rate — and one schedule — serves both. With kind="muon", `adamw_lr` gives the AdamW part (embeddings,
    head, gains, biases) its own peak rate (default: `lr`); a schedule that scales each group's own peak
    (`train_model`) keeps the ratio. Without torch.optim.Muon (PyTorch < 2.9) it warns and uses AdamW.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if adamw_lr is not None and not adamw_lr > 0:
        raise ValueError(f"adamw_lr must be > 0 (or None: the same as lr), got {adamw_lr}")
    if kind == "muon" and not hasattr(torch.optim, "Muon"):
        warnings.warn(f"torch {torch.__version__} has no torch.optim.Muon (added in 2.9): using AdamW", stacklevel=2)
        kind = "adamw"
    matrices, others = split_parameters(model)
    adamw_params = others + (matrices if kind == "adamw" else [])

    def groups(params):  # weight decay on matrices only
        return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    if kind == "adamw" or not matrices:
        return torch.optim.AdamW(groups(adamw_params), lr=lr, betas=betas)
    adamw = torch.optim.AdamW(groups(adamw_params), lr=adamw_lr or lr, betas=betas)
    muon = torch.optim.Muon(matrices, lr=lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
    return OptimizerGroup(muon, adamw)
