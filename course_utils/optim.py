"""Optimizers for the course's Transformers: AdamW everywhere, or Muon for the hidden weight matrices.

Muon ("MomentUm Orthogonalized by Newton–Schulz", Jordan et al. 2024; `torch.optim.Muon` since PyTorch 2.9)
takes the momentum update G of a weight matrix and replaces it by the nearest orthogonal matrix — G = U S Vᵀ
becomes U Vᵀ, all singular values ≈ 1 — using a few Newton–Schulz matrix iterations. A plain gradient step is
dominated by a few large singular directions; the orthogonalised step moves every direction at the same
rate. It is meant for 2-D hidden-layer matrices only: embeddings, the output head, biases and LayerNorm
gains stay with AdamW. On our small char-level GPT it reaches a given loss in markedly fewer steps
(benchmarks/char_gpt.py measures it).

`Muon` is the course's own implementation: the algorithm of `torch.optim.Muon` (PyTorch ≥ 2.9), but its
Newton–Schulz iterations run in float32. torch's run in bfloat16, which CPUs without native bf16 arithmetic (an
AVX2-only AMD EPYC, many laptops) emulate: on that EPYC, training notebook 05's winning GPT took 204 s with
bfloat16 iterations and 66 s with float32 ones (584 steps), and with bf16 "equal training time" stopped being equal.

`OptimizerGroup` bundles several optimizers so a training loop can treat them as one.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

KINDS = ("adamw", "muon")


NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)   # Muon's quintic iteration (tuned for speed, not precision)


def newton_schulz(G: torch.Tensor, steps: int = 5, eps: float = 1e-7,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Approximately U Vᵀ for a matrix G = U S Vᵀ: five iterations push every singular value towards 1
    (notebook 05's `newton_schulz`, computed on the wide orientation of G, in `dtype`)."""
    if G.dim() != 2:
        raise ValueError(f"G must be a 2-D matrix, got shape {tuple(G.shape)}")
    a, b, c = NS_COEFFICIENTS
    X = G.to(dtype)
    tall = G.size(0) > G.size(1)
    if tall:
        X = X.T                                        # (small, large): the Gram matrix X Xᵀ stays small
    X = X / X.norm().clamp(min=eps)                    # every singular value ≤ 1
    for _ in range(steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)      # b·A + c·A·A
        X = torch.addmm(X, B, X, beta=a)               # a·X + B·X
    return X.T if tall else X


class Muon(torch.optim.Optimizer):
    """Muon for 2-D hidden matrices: Nesterov momentum, the update orthogonalised by `newton_schulz`, the step
    scaled to AdamW's typical size (0.2·√max(rows, cols), torch's `adjust_lr_fn="match_rms_adamw"`), decoupled
    weight decay. The same steps as `torch.optim.Muon`; with `ns_dtype=torch.bfloat16` the same numbers too
    (a test checks it), by default float32 (see the module docstring)."""

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_steps: int = 5, eps: float = 1e-7,
                 ns_dtype: torch.dtype = torch.float32):
        if not lr >= 0:
            raise ValueError(f"lr must be ≥ 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be ≥ 0, got {weight_decay}")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_steps=ns_steps, eps=eps, ns_dtype=ns_dtype)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Muon takes 2-D matrices only, got a parameter of shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - momentum)                      # momentum: buf = μ·buf + (1 − μ)·g
                update = p.grad.lerp(buf, momentum) if group["nesterov"] else buf
                update = newton_schulz(update, group["ns_steps"], group["eps"], group["ns_dtype"])
                p.mul_(1 - lr * group["weight_decay"])               # decoupled weight decay
                p.add_(update, alpha=-lr * 0.2 * math.sqrt(max(p.shape)))   # RMS matched to AdamW's steps
        return loss


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
    (`train_model`) keeps the ratio. Muon is the course's `Muon` (any PyTorch version, float32 Newton–Schulz).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if adamw_lr is not None and not adamw_lr > 0:
        raise ValueError(f"adamw_lr must be > 0 (or None: the same as lr), got {adamw_lr}")
    matrices, others = split_parameters(model)
    adamw_params = others + (matrices if kind == "adamw" else [])

    def groups(params):  # weight decay on matrices only
        return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    if kind == "adamw" or not matrices:
        return torch.optim.AdamW(groups(adamw_params), lr=lr, betas=betas)
    adamw = torch.optim.AdamW(groups(adamw_params), lr=adamw_lr or lr, betas=betas)
    muon = Muon(matrices, lr=lr, weight_decay=weight_decay)
    return OptimizerGroup(muon, adamw)
