"""Attention, exactly as written in the article:  Attention(Q, K, V) = softmax(QKᵀ / √d_k) V.

* `scaled_dot_product_attention` — the formula, returning the output *and* the weights.
* `causal_mask`, `padding_mask` — boolean masks, True = "may attend".
* `MultiHeadAttention(h, d_model, dropout=0.1)` — the article's unfinished class, completed with the
  same signature: project Q, K, V; split into h heads; attend; merge; project the output.

Options of a modern decoder (Llama-style), all off by default so the classic block is unchanged:
* `rotary_embedding` / `MultiHeadAttention(..., rope_theta=10000.0)` — RoPE: positions enter as rotations
  of queries and keys, so q·k depends only on how far apart two tokens are.
* `MultiHeadAttention(..., n_kv_heads=g)` — grouped-query attention: g key/value heads shared by h query heads.
* `MultiHeadAttention(..., bias=False)` — projections without biases.
* `forward(..., kv_cache=LayerKVCache)` — self-attention that appends its keys and values to a cache and
  attends over everything stored (course_utils/kv_cache.py): generation then costs one position per token.

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


def causal_mask(size: int, device: torch.device | str | None = None, past: int = 0) -> torch.Tensor:
    """(T, T) lower-triangular keep-mask: position t may attend to positions ≤ t only.

    With `past` > 0 (queries that follow `past` cached positions, see kv_cache.py) it is (T, past + T):
    query i sits at position past + i and may attend to keys 0 … past + i."""
    size = require_int(size, "size", minimum=1)
    past = require_int(past, "past", minimum=0)
    return torch.ones(size, past + size, dtype=torch.bool, device=device).tril(past)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(…, d) → (…, d): halves [x₁, x₂] ↦ [−x₂, x₁], i.e. every pair (x₁[i], x₂[i]) turned by 90°."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rotary_embedding(x: torch.Tensor, start: int = 0, base: float = 10000.0) -> torch.Tensor:
    """RoPE (Su et al., 2021): rotate queries or keys x (…, T, d) at positions start … start+T-1 → same shape.

    Pair i of coordinates is turned by the angle pos · θᵢ with θᵢ = base^(−2i/d), i < d/2:

        x' = x · cos(pos θ) + rotate_half(x) · sin(pos θ)

    A rotation keeps lengths, and (R_m q)·(R_n k) = q·(R_{n−m} k): the score of two tokens depends on their
    offset n − m, not on where they sit. Pairs are (i, i + d/2) — the "rotate half" layout of Llama in
    `transformers` — rather than the paper's neighbours (2i, 2i+1): the same thing up to a fixed permutation
    of the projection weights. Angles are computed in float32 for every dtype, on the fly (cheap: T × d/2)."""
    d, T = x.size(-1), x.size(-2)
    if d % 2:
        raise ValueError(f"rotary_embedding needs an even head size, got d={d}")
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d))  # (d/2,) θᵢ
    positions = torch.arange(start, start + T, dtype=torch.float32, device=x.device)             # (T,)
    angle = positions[:, None] * inv_freq                                                        # (T, d/2)
    angle = torch.cat((angle, angle), dim=-1)                                                    # (T, d)
    return x * angle.cos().to(x.dtype) + rotate_half(x) * angle.sin().to(x.dtype)               # (…, T, d)


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

    Modern options (defaults = the classic layer above, parameter for parameter):
    `n_kv_heads` = g < h: grouped-query attention — W_K and W_V project to g heads only, and each group of
    h/g query heads attends with the same key/value head (g = 1 is multi-query attention); fewer parameters,
    and a KV cache g/h the size. `bias=False`: no biases in the four projections. `rope_theta`: apply
    `rotary_embedding` with that base to queries and keys (self-attention: both are at the same positions).
    """

    def __init__(self, h: int, d_model: int, dropout: float = 0.1, *, n_kv_heads: int | None = None,
                 bias: bool = True, rope_theta: float | None = None):
        super().__init__()
        h = require_int(h, "h (number of heads)", minimum=1)
        d_model = require_int(d_model, "d_model", minimum=1)
        if d_model % h != 0:
            raise ValueError(f"d_model must be divisible by h, got d_model={d_model} and h={h} "
                             f"(d_model % h = {d_model % h})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.h, self.d_model, self.d_k = h, d_model, d_model // h
        self.n_kv_heads = h if n_kv_heads is None else require_int(n_kv_heads, "n_kv_heads", minimum=1)
        if h % self.n_kv_heads:
            raise ValueError(f"n_kv_heads must divide h, got h={h} and n_kv_heads={self.n_kv_heads}")
        if rope_theta is not None and (not float(rope_theta) > 0 or self.d_k % 2):
            raise ValueError(f"rope_theta must be > 0 with an even head size d_k, got rope_theta={rope_theta} and "
                             f"d_k={self.d_k}")
        self.rope_theta = None if rope_theta is None else float(rope_theta)
        kv_dim = self.n_kv_heads * self.d_k                  # = d_model unless grouped-query attention
        self.w_q = nn.Linear(d_model, d_model, bias=bias)  # W_Q for all heads at once
        self.w_k = nn.Linear(d_model, kv_dim, bias=bias)   # W_K (n_kv_heads heads)
        self.w_v = nn.Linear(d_model, kv_dim, bias=bias)   # W_V (n_kv_heads heads)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)  # W_O merges the heads
        self.dropout = nn.Dropout(p=dropout)
        self.attn: torch.Tensor | None = None

    def _split_heads(self, x: torch.Tensor, heads: int | None = None) -> torch.Tensor:
        B, T, _ = x.shape
        heads = heads or self.h
        return x.view(B, T, heads, self.d_k).transpose(1, 2)  # (B, T, heads·d_k) -> (B, heads, T, d_k)

    def _project_qkv(self, query, key, value):
        if query is key and key is value:  # self-attention: one packed matmul instead of three
            weight = torch.cat([self.w_q.weight, self.w_k.weight, self.w_v.weight])
            bias = None if self.w_q.bias is None else torch.cat([self.w_q.bias, self.w_k.bias, self.w_v.bias])
            kv_dim = self.w_k.out_features
            return F.linear(query, weight, bias).split([self.d_model, kv_dim, kv_dim], dim=-1)
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
                is_causal: bool = False, kv_cache=None) -> torch.Tensor:
        """(B, T_q, d_model) queries attend over (B, T_k, d_model) keys/values → (B, T_q, d_model).

        `kv_cache` (a `course_utils.kv_cache.LayerKVCache`, self-attention only): the new positions' keys and
        values are appended to it and the queries attend over all stored positions, T_k = past + T_q; the
        causal mask is shifted so that query i (at position past + i) sees keys 0 … past + i."""
        self._check_inputs(query, key, value)
        if kv_cache is not None and not (query is key and key is value):
            raise ValueError("kv_cache works for self-attention only: pass the same tensor as query, key and value")
        B, T_q, _ = query.shape
        past = 0 if kv_cache is None else kv_cache.length   # positions already in the cache
        T_k = past + key.size(1)
        scores_shape = torch.Size((B, self.h, T_q, T_k))
        if is_causal:
            causal = causal_mask(T_q, query.device, past) if T_q == key.size(1) else None
            if causal is None:
                raise ValueError(f"is_causal needs T_q == T_k, got {T_q} and {T_k}")
            mask = causal if mask is None else _as_bool_mask(mask, scores_shape) & causal
        if mask is not None:
            mask = _as_bool_mask(mask, scores_shape)
        # 1) project, then split d_model into h heads of size d_k (keys and values: n_kv_heads heads)
        q, k, v = self._project_qkv(query, key, value)
        q, k, v = self._split_heads(q), self._split_heads(k, self.n_kv_heads), self._split_heads(v, self.n_kv_heads)
        if self.rope_theta is not None:  # RoPE: rotate queries and keys by their positions past … past + T - 1
            q = rotary_embedding(q, past, self.rope_theta)                            # (B, h, T_q, d_k)
            k = rotary_embedding(k, past, self.rope_theta)                            # (B, n_kv_heads, T_q, d_k)
        if kv_cache is not None:         # store the new keys/values, attend over every stored position
            k, v = kv_cache.update(k, v)                                              # (B, n_kv_heads, T_k, d_k)
        if self.n_kv_heads != self.h:    # GQA: head i uses key/value head i // (h / n_kv_heads)
            group = self.h // self.n_kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (B, h, T_k, d_k)
        # 2) attend: explicit formula when weights are wanted, fused kernel otherwise
        if need_weights is None:
            need_weights = not self.training
        if need_weights:
            x, self.attn = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        else:
            self.attn = None
            p = self.dropout.p if self.training else 0.0
            if is_causal and mask is causal and past == 0:
                x = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        # 3) merge heads back: (B, h, T_q, d_k) -> (B, T_q, d_model), then the output projection
        x = x.transpose(1, 2).contiguous().view(B, T_q, self.d_model)
        return self.w_o(x)

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a batch-first `torch.nn.MultiheadAttention` with the same sizes."""
        if self.n_kv_heads != self.h or self.w_q.bias is None:
            raise ValueError(f"load_from_torch needs the classic layout (n_kv_heads = h, bias=True), this one has "
                             f"n_kv_heads={self.n_kv_heads}, h={self.h}, bias={self.w_q.bias is not None}")
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
