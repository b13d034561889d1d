"""The KV cache: keep every layer's keys and values so that generating one more token costs one position.

Without a cache, `generate` runs the whole prefix through the model for every new token: step t costs
t positions, n steps cost ≈ n²/2. With it, the prompt is run once ("prefill") and each later step feeds
only the newest token; each attention layer appends that token's key and value to what it stored and
lets its query attend over all of them:

    layer i:  K_cache[i], V_cache[i]   (B, n_kv_heads, capacity, head_dim), filled up to `length`
    step:     k, v of the new token(s) (B, n_kv_heads, T_new, head_dim) → written at [length : length + T_new]

Memory per cached token (one sequence) = 2 (K and V) · n_layers · n_kv_heads · head_dim · bytes per number:
`kv_cache_bytes_per_token(config)`; `KVCache.nbytes` measures what the buffers really hold. Grouped-query
attention (n_kv_heads < n_heads) shrinks it by n_heads / n_kv_heads.

The buffers are allocated once, for `capacity` tokens (the model's block_size), and written in place: no
copy of the whole cache per step. The cache only ever holds one window: once a sequence outgrows the
model's block_size, `course_utils.generation.generate` drops it and recomputes (see there why).
"""
from __future__ import annotations

import torch

from course_utils.validation import require_int


class LayerKVCache:
    """One attention layer's stored keys and values: two (B, n_kv_heads, capacity, head_dim) buffers, of which
    the first `length` positions are filled."""

    def __init__(self, batch_size: int, n_kv_heads: int, capacity: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
        shape = (batch_size, n_kv_heads, capacity, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)    # (B, n_kv_heads, capacity, head_dim)
        self.values = torch.zeros(shape, dtype=dtype, device=device)  # (B, n_kv_heads, capacity, head_dim)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys.size(2)

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new positions' k, v (B, n_kv_heads, T_new, head_dim); return every stored key and value
        so far, (B, n_kv_heads, length + T_new, head_dim) each (views of the buffers, no copy)."""
        if k.shape != v.shape or k.dim() != 4 or k.shape[:2] != self.keys.shape[:2] or k.size(3) != self.keys.size(3):
            raise ValueError(f"k and v must both have shape (B, n_kv_heads, T_new, head_dim) = "
                             f"({self.keys.size(0)}, {self.keys.size(1)}, T_new, {self.keys.size(3)}), got "
                             f"{tuple(k.shape)} and {tuple(v.shape)}")
        end = self.length + k.size(2)
        if end > self.capacity:
            raise ValueError(f"the KV cache holds at most capacity={self.capacity} positions; it has {self.length} "
                             f"and {k.size(2)} more were given")
        self.keys[:, :, self.length:end] = k
        self.values[:, :, self.length:end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]      # (B, n_kv_heads, end, head_dim) each


class KVCache:
    """Keys and values of every layer of a model for the positions it has already seen (one `LayerKVCache`
    per layer, all filled to the same `length` between forward calls)."""

    def __init__(self, n_layers: int, batch_size: int, n_kv_heads: int, capacity: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
        n_layers = require_int(n_layers, "n_layers", minimum=1)
        batch_size = require_int(batch_size, "batch_size", minimum=1)
        n_kv_heads = require_int(n_kv_heads, "n_kv_heads", minimum=1)
        capacity = require_int(capacity, "capacity", minimum=1)
        head_dim = require_int(head_dim, "head_dim", minimum=1)
        self.layers = [LayerKVCache(batch_size, n_kv_heads, capacity, head_dim, dtype, device)
                       for _ in range(n_layers)]

    @property
    def length(self) -> int:
        """Positions stored (the position index the next token gets)."""
        return self.layers[0].length

    @property
    def capacity(self) -> int:
        return self.layers[0].capacity

    @property
    def nbytes(self) -> int:
        """Bytes the buffers really occupy (measured from their storage, not computed from the sizes)."""
        return sum(t.untyped_storage().nbytes() for layer in self.layers for t in (layer.keys, layer.values))

    def bytes_per_token(self) -> float:
        """Measured bytes per cached position of one sequence: nbytes / (batch_size · capacity)."""
        return self.nbytes / (self.layers[0].keys.size(0) * self.capacity)


def kv_cache_bytes_per_token(config, dtype: torch.dtype = torch.float32) -> int:
    """The formula: 2 (K and V) · n_layers · n_kv_heads · head_dim · bytes per element, for one sequence.
    `config` is a GPTConfig (n_kv_heads None means n_heads, i.e. classic multi-head attention)."""
    n_kv_heads = getattr(config, "n_kv_heads", None) or config.n_heads
    head_dim = config.d_model // config.n_heads
    return 2 * config.n_layers * n_kv_heads * head_dim * torch.empty((), dtype=dtype).element_size()
