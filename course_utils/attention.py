"""Attention, exactly as written in the article:  Attention(Q, K, V) = softmax(QKᵀ / √d_k) V.

* `scaled_dot_product_attention` — the formula, returning the output *and* the weights.
* `causal_mask`, `padding_mask` — boolean masks, True = "may attend".
* `MultiHeadAttention(h, d_model, dropout=0.1)` — the article's unfinished class, completed with the
  same signature: project Q, K, V; split into h heads; attend; merge; project the output.

Masks are boolean (or 0/1), True/1 = keep, of any shape that broadcasts to the scores (…, T_q, T_k):
for multi-head inputs (B, h, T_q, T_k), e.g. (T_q, T_k) for a causal mask, (B, 1, 1, T_k) for padding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.validation import require_int


def _as_bool_mask(mask: torch.Tensor, scores_shape: torch.Size) -> torch.Tensor:
    """Validate a keep-mask against the scores' shape and return it as bool."""
    if not torch.is_tensor(mask):
        raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    try:
        broadcast = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != scores_shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the attention scores of "
                         f"shape {tuple(scores_shape)} (…, T_q, T_k); e.g. use (T_q, T_k) for a causal "
                         f"mask or (B, 1, 1, T_k) for key padding")
    if mask.dtype != torch.bool:
        if not torch.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must be boolean or contain only 0/1 (1 = keep)")
        mask = mask.bool()
    return mask


def _check_qkv(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not torch.is_tensor(t):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have shape (..., T, d), got {tuple(t.shape)}")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"query and key must share d_k (last dim), got query {tuple(query.shape)} "
                         f"and key {tuple(key.shape)}")
    if key.size(-2) != value.size(-2):
        raise ValueError(f"key and value must have the same length T_k (dim -2), got key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)}")


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor | None = None,
                                 dropout: nn.Module | float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(QKᵀ/√d_k)V for query (…, T_q, d_k), key (…, T_k, d_k), value (…, T_k, d_v).

    Returns (output (…, T_q, d_v), weights (…, T_q, T_k)); each row of weights sums to 1 and masked
    positions get weight 0 (a row whose keys are all masked is all 0). `dropout` (an nn.Dropout or a
    probability) is applied to the weights.
    """
    _check_qkv(query, key, value)
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (…, T_q, T_k)
    if mask is not None:
        mask = _as_bool_mask(mask, scores.shape)
        # the most negative finite number, not -inf: a fully masked row stays finite instead of NaN
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)  # (…, T_q, T_k), rows sum to 1
    if mask is not None:
        # a query with no key left to attend to gets weight 0 everywhere (output 0) rather than a
        # uniform average over masked keys — the same answer as the fused kernel of the fast path
        weights = weights.masked_fill(~mask, 0.0)
    if isinstance(dropout, nn.Module):
        weights = dropout(weights)
    elif dropout:
        weights = F.dropout(weights, p=float(dropout))
    return weights @ value, weights  # (…, T_q, d_v)


def causal_mask(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) lower-triangular keep-mask: position t may attend to positions ≤ t only."""
    size = require_int(size, "size", minimum=1)
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def padding_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """(B, 1, 1, T_k) keep-mask that hides padding keys of a (B, T_k) batch of token ids."""
    if ids.dim() != 2:
        raise ValueError(f"ids must have shape (B, T), got {tuple(ids.shape)}")
    return (ids != pad_id)[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """h attention heads in parallel, each on its own d_k = d_model / h slice of learned projections.

    MultiHead(Q, K, V) = Concat(head_1, …, head_h) W_O,  head_i = Attention(Q W_Q,i, K W_K,i, V W_V,i).
    Inputs are batch-first (B, T, d_model). In eval mode (or with need_weights=True) the weights of the
    last call are kept in `.attn` (B, h, T_q, T_k), computed by the explicit formula; in training mode it
    takes PyTorch's fused kernel (`F.scaled_dot_product_attention`) and `.attn` is None.
    """

    def __init__(self, h: int, d_model: int, dropout: float = 0.1):
        super().__init__()
        h = require_int(h, "h (number of heads)", minimum=1)
        d_model = require_int(d_model, "d_model", minimum=1)
        if d_model % h != 0:
            raise ValueError(f"d_model must be divisible by h, got d_model={d_model} and h={h} "
                             f"(d_model % h = {d_model % h})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.h, self.d_model, self.d_k = h, d_model, d_model // h
        self.w_q = nn.Linear(d_model, d_model)  # W_Q for all heads at once
        self.w_k = nn.Linear(d_model, d_model)  # W_K
        self.w_v = nn.Linear(d_model, d_model)  # W_V
        self.w_o = nn.Linear(d_model, d_model)  # W_O merges the heads
        self.dropout = nn.Dropout(p=dropout)
        self.attn: torch.Tensor | None = None

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.h, self.d_k).transpose(1, 2)  # (B, T, d_model) -> (B, h, T, d_k)

    def _project_qkv(self, query, key, value):
        if query is key and key is value:  # self-attention: one packed matmul instead of three
            weight = torch.cat([self.w_q.weight, self.w_k.weight, self.w_v.weight])
            bias = torch.cat([self.w_q.bias, self.w_k.bias, self.w_v.bias])
            return F.linear(query, weight, bias).chunk(3, dim=-1)
        return self.w_q(query), self.w_k(key), self.w_v(value)

    def _check_inputs(self, query, key, value) -> None:
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not torch.is_tensor(t) or t.dim() != 3 or t.size(-1) != self.d_model:
                shape = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
                raise ValueError(f"{name} must have shape (B, T, d_model={self.d_model}), got {shape}")
        if not (query.size(0) == key.size(0) == value.size(0)):
            raise ValueError(f"query, key and value must share the batch size, got {query.size(0)}, "
                             f"{key.size(0)} and {value.size(0)}")
        if key.size(1) != value.size(1):
            raise ValueError(f"key and value must have the same length T_k, got key {tuple(key.shape)} "
                             f"and value {tuple(value.shape)}")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None, *, need_weights: bool | None = None,
                is_causal: bool = False) -> torch.Tensor:
        """(B, T_q, d_model) queries attend over (B, T_k, d_model) keys/values → (B, T_q, d_model)."""
        self._check_inputs(query, key, value)
        B, T_q, _ = query.shape
        T_k = key.size(1)
        scores_shape = torch.Size((B, self.h, T_q, T_k))
        if is_causal:
            causal = causal_mask(T_q, query.device) if T_q == T_k else None
            if causal is None:
                raise ValueError(f"is_causal needs T_q == T_k, got {T_q} and {T_k}")
            mask = causal if mask is None else _as_bool_mask(mask, scores_shape) & causal
        if mask is not None:
            mask = _as_bool_mask(mask, scores_shape)
        # 1) project, then split d_model into h heads of size d_k
        q, k, v = (self._split_heads(t) for t in self._project_qkv(query, key, value))  # (B, h, T, d_k)
        # 2) attend: explicit formula when weights are wanted, fused kernel otherwise
        if need_weights is None:
            need_weights = not self.training
        if need_weights:
            x, self.attn = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        else:
            self.attn = None
            p = self.dropout.p if self.training else 0.0
            if is_causal and mask is causal:
                x = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        # 3) merge heads back: (B, h, T_q, d_k) -> (B, T_q, d_model), then the output projection
        x = x.transpose(1, 2).contiguous().view(B, T_q, self.d_model)
        return self.w_o(x)

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a batch-first `torch.nn.MultiheadAttention` with the same sizes."""
        if mha.embed_dim != self.d_model or mha.num_heads != self.h:
            raise ValueError(f"sizes differ: torch module has d_model={mha.embed_dim}, h={mha.num_heads}; "
                             f"this one d_model={self.d_model}, h={self.h}")
        if mha.in_proj_weight is None or mha.in_proj_bias is None or mha.out_proj.bias is None:
            raise ValueError("mha must project query, key and value from d_model with biases "
                             "(kdim = vdim = embed_dim, bias=True), got "
                             f"kdim={mha.kdim}, vdim={mha.vdim}, bias={mha.in_proj_bias is not None}")
        for i, linear in enumerate((self.w_q, self.w_k, self.w_v)):
            linear.weight.copy_(mha.in_proj_weight[i * self.d_model:(i + 1) * self.d_model])
            linear.bias.copy_(mha.in_proj_bias[i * self.d_model:(i + 1) * self.d_model])
        self.w_o.weight.copy_(mha.out_proj.weight)
        self.w_o.bias.copy_(mha.out_proj.bias)
        return self
