"""A GPT-style Transformer language model, readable top to bottom (nanoGPT size).

    token ids (B, T)
      → token embedding + positional encoding          (B, T, C)   "input encoding"
      → N × TransformerBlock:                                        repeated N times
            x = x + SelfAttention(LayerNorm(x))        (B, T, C)   tokens look at earlier tokens
            x = x + FeedForward(LayerNorm(x))          (B, T, C)   each position thinks on its own
      → LayerNorm → linear head (tied to the embedding)  (B, T, V)   "decoding" to next-token logits

B = batch, T = sequence length (≤ block_size), C = d_model, V = vocab_size.

The block is generic over what it attends to: `TransformerBlock(..., causal=True)` is a GPT (decoder-only)
block; `causal=False` with a padding mask is an encoder block; `cross_attention=True` adds a sublayer that
attends over another sequence (`memory`) — the pieces an encoder–decoder is built from.

A modern (Llama-style) decoder differs in four options of GPTConfig, each off by default (the classic GPT):
    norm="rmsnorm"          RMSNorm instead of LayerNorm: no centring, no bias
    feed_forward="swiglu"   W_down (SiLU(W_gate x) ⊙ W_up x): a gated FFN, 3 matrices of width ≈ 8C/3
    positional="rope"       no position vectors added to the input; queries and keys are rotated instead
    n_kv_heads=g            grouped-query attention: g key/value heads shared by the n_heads query heads
(and bias=False, as in Llama). `course_utils.llama.load_llama` loads a Llama checkpoint into this GPT exactly.

`GPT.forward(idx, kv_cache=...)` runs only the new positions against a `course_utils.kv_cache.KVCache` of the
earlier ones: the fast path of `course_utils.generation.generate(..., use_cache=True)`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.attention import MultiHeadAttention
from course_utils.kv_cache import KVCache
from course_utils.validation import check_token_ids, require_int, require_real

POSITIONAL_KINDS = ("learned", "sinusoidal")
GPT_POSITIONAL_KINDS = POSITIONAL_KINDS + ("rope",)  # RoPE lives inside attention: decoder-only GPT option
ACTIVATIONS = ("gelu", "gelu_tanh")  # exact GELU (the course default) or its tanh approximation (GPT-2's "gelu_new")
NORMS = ("layernorm", "rmsnorm")
FEED_FORWARDS = ("mlp", "swiglu")


def make_activation(name: str) -> nn.Module:
    """The feed-forward nonlinearity: "gelu" = x·Φ(x) exactly; "gelu_tanh" = the approximation GPT-2 was
    trained with, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — they differ by < 0.001, enough to matter
    when loading GPT-2's weights exactly."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")
    return nn.GELU() if name == "gelu" else nn.GELU(approximate="tanh")


def check_config(config, positive_ints: Sequence[str], positional_kinds: Sequence[str] = POSITIONAL_KINDS) -> None:
    """Validate a model config (GPTConfig, Seq2SeqConfig) at construction, so a bad size fails here with
    its name and value, not later as a shape error inside torch. NumPy/torch integer scalars are accepted
    and stored back as plain ints (a config must stay plain data for a weights_only checkpoint)."""
    for name in positive_ints:
        setattr(config, name, require_int(getattr(config, name), name, minimum=1))
    if getattr(config, "d_ff", None) is not None:
        config.d_ff = require_int(config.d_ff, "d_ff", minimum=1)
    if config.d_model % config.n_heads:
        raise ValueError(f"d_model must be divisible by n_heads, got d_model={config.d_model} and "
                         f"n_heads={config.n_heads}")
    dropout = require_real(config.dropout, "dropout", at_least=0, below=1)
    if type(config.dropout) not in (int, float):  # a NumPy/torch scalar: store a plain float
        config.dropout = dropout
    if config.positional not in positional_kinds:
        raise ValueError(f"positional must be one of {tuple(positional_kinds)}, got {config.positional!r}")


# ---------------------------------------------------------------------------------------------------
# 1) input encoding: token embeddings + positional encodings
# ---------------------------------------------------------------------------------------------------
def sinusoidal_positions(T: int, d: int) -> torch.Tensor:
    """The fixed encodings of "Attention Is All You Need", shape (T, d):

        PE[pos, 2i]   = sin(pos / 10000^(2i/d))
        PE[pos, 2i+1] = cos(pos / 10000^(2i/d))

    Each pair of columns is a clock ticking at its own frequency, so every position gets a unique
    pattern and a fixed offset is a fixed rotation (which attention can learn to read).
    """
    T, d = require_int(T, "T", minimum=1), require_int(d, "d", minimum=1)
    pos = torch.arange(T, dtype=torch.float32)[:, None]                    # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float32)                     # (ceil(d/2),)
    angle = pos / 10000 ** (two_i / d)                                     # (T, ceil(d/2))
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d // 2])                            # odd d: one fewer cos column
    return pe


class LearnedPositions(nn.Module):
    """One trainable vector per position 0 … block_size-1 (GPT-2's choice)."""

    def __init__(self, block_size: int, d_model: int):
        super().__init__()
        self.table = nn.Embedding(block_size, d_model)

    def forward(self, T: int, start: int = 0) -> torch.Tensor:
        """Vectors of positions start … start+T-1 (start > 0: after positions held in a KV cache)."""
        return self.table(torch.arange(start, start + T, device=self.table.weight.device))  # (T, C)


class SinusoidalPositions(nn.Module):
    """The fixed sinusoidal table, stored as a buffer: no parameters, saved with the model."""

    def __init__(self, block_size: int, d_model: int):
        super().__init__()
        self.register_buffer("table", sinusoidal_positions(block_size, d_model), persistent=False)

    def forward(self, T: int, start: int = 0) -> torch.Tensor:
        return self.table[start:start + T]  # (T, C)


class Embeddings(nn.Module):
    """x = TokenEmbedding[idx] + Position[0 … T-1], then dropout: (B, T) ids → (B, T, C) vectors.

    positional="rope" adds no position vector here (`position` is None): RoPE rotates queries and keys
    inside attention instead."""

    def __init__(self, vocab_size: int, block_size: int, d_model: int, positional: str = "learned",
                 dropout: float = 0.0):
        super().__init__()
        if positional not in GPT_POSITIONAL_KINDS:
            raise ValueError(f"positional must be one of {GPT_POSITIONAL_KINDS}, got {positional!r}")
        self.token = nn.Embedding(vocab_size, d_model)
        kinds = {"learned": LearnedPositions, "sinusoidal": SinusoidalPositions}
        self.position = kinds[positional](block_size, d_model) if positional in kinds else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """`start`: the position of idx[:, 0] (> 0 when earlier positions are held in a KV cache)."""
        T = idx.size(1)
        if self.position is None:
            return self.dropout(self.token(idx))   # (B, T, C): positions enter inside attention (RoPE)
        x = self.token(idx) + self.position(T, start)  # (B, T, C) + (T, C) broadcasts over the batch
        return self.dropout(x)


# ---------------------------------------------------------------------------------------------------
# 2) the two sublayers: feed-forward and attention, each wrapped in "x + sublayer(LayerNorm(x))"
# ---------------------------------------------------------------------------------------------------
class FeedForward(nn.Module):
    """FFN(x) = W₂ GELU(W₁ x + b₁) + b₂, applied to every position separately: (B, T, C) → (B, T, C).

    The hidden layer is wider (d_ff = 4·C by default): this is where most parameters live.
    """

    def __init__(self, d_model: int, d_ff: int | None = None, dropout: float = 0.0, activation: str = "gelu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.up = nn.Linear(d_model, d_ff)      # W₁: C → d_ff
        self.act = make_activation(activation)
        self.down = nn.Linear(d_ff, d_model)    # W₂: d_ff → C (a residual projection)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(self.act(self.up(x))))  # (B, T, d_ff) inside


class SwiGLUFeedForward(nn.Module):
    """SwiGLU(x) = W_down (SiLU(W_gate x) ⊙ W_up x) (Shazeer 2020; Llama): a gated FFN, (B, T, C) → (B, T, C).

    One branch decides how much of the other passes, per hidden unit. With three matrices instead of two, the
    default width d_ff = round(8·C/3) keeps the parameter count of the classic 4·C GELU MLP."""

    def __init__(self, d_model: int, d_ff: int | None = None, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        d_ff = d_ff or round(8 * d_model / 3)
        self.gate = nn.Linear(d_model, d_ff, bias=bias)   # W_gate: C → d_ff, through SiLU
        self.up = nn.Linear(d_model, d_ff, bias=bias)     # W_up:   C → d_ff, linear
        self.down = nn.Linear(d_ff, d_model, bias=bias)   # W_down: d_ff → C (a residual projection)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.silu(self.gate(x)) * self.up(x)))  # (B, T, d_ff) inside


class RMSNorm(nn.Module):
    """RMSNorm(x) = g ⊙ x / √(mean(x²) + ε) over the last dimension (Zhang & Sennrich 2019; Llama).

    LayerNorm without subtracting the mean and without a bias: one reduction instead of two, and at least
    as good in practice. Computed in float32 whatever the input dtype (as in `transformers`' Llama)."""

    def __init__(self, d_model: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d_model))  # g, the gain
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)  # (…, C)
        return self.weight * normed.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, eps={self.eps}"


def make_norm(kind: str, d_model: int, eps: float = 1e-5) -> nn.Module:
    """The block's normalisation layer: "layernorm" (the classic GPT) or "rmsnorm" (Llama)."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
    return nn.LayerNorm(d_model, eps=eps) if kind == "layernorm" else RMSNorm(d_model, eps=eps)


def make_feed_forward(kind: str, d_model: int, d_ff: int | None = None, dropout: float = 0.0,
                      activation: str = "gelu", bias: bool = True) -> nn.Module:
    """The block's feed-forward sublayer: "mlp" (GELU MLP, the classic GPT) or "swiglu" (Llama)."""
    if kind not in FEED_FORWARDS:
        raise ValueError(f"feed_forward must be one of {FEED_FORWARDS}, got {kind!r}")
    if kind == "swiglu":
        return SwiGLUFeedForward(d_model, d_ff, dropout, bias)
    ff = FeedForward(d_model, d_ff, dropout, activation)
    if not bias:  # the classic MLP without biases (bias=False is a Llama option; the MLP keeps its own default)
        ff.up.bias = ff.down.bias = None
    return ff


class TransformerBlock(nn.Module):
    """One pre-LayerNorm Transformer block, the unit that is stacked N times:

        x = x + Dropout(SelfAttention(LN₁(x)))           causal=True: position t sees only ≤ t
        x = x + Dropout(CrossAttention(LN(x), memory))   only if cross_attention=True
        x = x + FeedForward(LN₂(x))

    The residual path `x + …` lets gradients flow straight through N blocks; LayerNorm before each
    sublayer (pre-LN, as in GPT-2) keeps the stack stable without a warmup-sensitive setup.

    Modern options (see the module docstring): norm="rmsnorm", feed_forward="swiglu", n_kv_heads,
    rope_theta (RoPE in self-attention), bias=False. The defaults build the classic block.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int | None = None, dropout: float = 0.0,
                 causal: bool = True, cross_attention: bool = False, activation: str = "gelu",
                 layer_norm_eps: float = 1e-5, *, norm: str = "layernorm", feed_forward: str = "mlp",
                 n_kv_heads: int | None = None, rope_theta: float | None = None, bias: bool = True):
        super().__init__()
        self.causal = causal
        self.ln_attn = make_norm(norm, d_model, layer_norm_eps)
        self.attn = MultiHeadAttention(n_heads, d_model, dropout, n_kv_heads=n_kv_heads, bias=bias,
                                       rope_theta=rope_theta)
        self.ln_cross = make_norm(norm, d_model, layer_norm_eps) if cross_attention else None
        self.cross_attn = MultiHeadAttention(n_heads, d_model, dropout, bias=bias) if cross_attention else None
        self.ln_ff = make_norm(norm, d_model, layer_norm_eps)
        self.ff = make_feed_forward(feed_forward, d_model, d_ff, dropout, activation, bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, memory: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, kv_cache=None) -> torch.Tensor:
        """x (B, T, C) → (B, T, C). `mask` restricts self-attention (in addition to the causal mask);
        `memory` (B, S, C) and `memory_mask` (e.g. (B, 1, 1, S)) feed the cross-attention sublayer.
        `kv_cache` (a `LayerKVCache`): x holds only new positions; self-attention also sees the cached ones."""
        # 1) self-attention: every position gathers information from the (earlier) positions
        h = self.ln_attn(x)
        x = x + self.dropout(self.attn(h, h, h, mask, is_causal=self.causal, kv_cache=kv_cache))
        # 2) cross-attention (encoder–decoder only): queries from x, keys/values from memory
        if self.cross_attn is not None:
            if memory is None:
                raise ValueError("this block has cross_attention=True: pass memory (B, S, d_model)")
            h = self.ln_cross(x)
            x = x + self.dropout(self.cross_attn(h, memory, memory, memory_mask))
        elif memory is not None:
            raise ValueError("memory was given but this block has no cross-attention "
                             "(build it with cross_attention=True)")
        # 3) feed-forward: each position transforms what it gathered
        return x + self.ff(self.ln_ff(x))


# ---------------------------------------------------------------------------------------------------
# 3) the GPT: embeddings → N blocks → LayerNorm → linear head to vocabulary logits
# ---------------------------------------------------------------------------------------------------
@dataclass
class GPTConfig:
    vocab_size: int                  # V: number of distinct tokens
    block_size: int = 128            # longest context the model can see (and position table size)
    d_model: int = 128               # C: width of every token vector
    n_heads: int = 4                 # attention heads per block (d_model must divide evenly)
    n_layers: int = 4                # N: number of stacked blocks
    dropout: float = 0.0             # on embeddings, attention weights and residual branches
    positional: str = "learned"      # "learned" (GPT-2) or "sinusoidal" (original Transformer)
    tie_weights: bool = True         # share the token embedding with the output head
    d_ff: int | None = None          # feed-forward width; None = 4 * d_model
    activation: str = "gelu"         # feed-forward GELU: "gelu" (exact) or "gelu_tanh" (GPT-2's approximation)
    layer_norm_eps: float = 1e-5     # ε inside every LayerNorm (PyTorch's default; GPT-2's too) or RMSNorm
    # the modern decoder's options (defaults = the classic GPT above; Llama: rmsnorm, swiglu, rope, g, False)
    norm: str = "layernorm"          # "layernorm" or "rmsnorm"
    feed_forward: str = "mlp"        # "mlp" (GELU, width d_ff or 4C) or "swiglu" (width d_ff or round(8C/3))
    n_kv_heads: int | None = None    # key/value heads; None = n_heads (classic), fewer = grouped-query attention
    rope_theta: float = 10000.0      # RoPE base θ, used when positional="rope"
    bias: bool = True                # biases in the attention and feed-forward projections (Llama: none)

    def __post_init__(self):
        check_config(self, ("vocab_size", "block_size", "d_model", "n_heads", "n_layers"), GPT_POSITIONAL_KINDS)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        eps = require_real(self.layer_norm_eps, "layer_norm_eps", above=0)
        if type(self.layer_norm_eps) is not float:  # an int or NumPy/torch scalar: store a plain float
            self.layer_norm_eps = eps
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.feed_forward not in FEED_FORWARDS:
            raise ValueError(f"feed_forward must be one of {FEED_FORWARDS}, got {self.feed_forward!r}")
        if self.n_kv_heads is not None:
            self.n_kv_heads = require_int(self.n_kv_heads, "n_kv_heads", minimum=1)
            if self.n_heads % self.n_kv_heads:
                raise ValueError(f"n_kv_heads must divide n_heads, got n_heads={self.n_heads} and "
                                 f"n_kv_heads={self.n_kv_heads}")
        theta = require_real(self.rope_theta, "rope_theta", above=0)
        if type(self.rope_theta) is not float:
            self.rope_theta = theta
        if self.positional == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"positional='rope' needs an even head size d_model / n_heads, got "
                             f"{self.d_model} / {self.n_heads} = {self.d_model // self.n_heads}")
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be True or False, got {self.bias!r}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        """Plain values only: safe to store in a weights_only checkpoint."""
        return asdict(self)


class GPT(nn.Module):
    """A decoder-only Transformer language model: token ids (B, T) → next-token logits (B, T, V)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = c = config
        self.embed = Embeddings(c.vocab_size, c.block_size, c.d_model, c.positional, c.dropout)
        rope_theta = c.rope_theta if c.positional == "rope" else None
        self.blocks = nn.ModuleList(TransformerBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, causal=True,
                                                     activation=c.activation, layer_norm_eps=c.layer_norm_eps,
                                                     norm=c.norm, feed_forward=c.feed_forward,
                                                     n_kv_heads=c.n_kv_heads, rope_theta=rope_theta, bias=c.bias)
                                    for _ in range(c.n_layers))
        self.ln_f = make_norm(c.norm, c.d_model, c.layer_norm_eps)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.apply(init_weights)
        for block in self.blocks:  # GPT-2: shrink the residual projections so the sum of N branches stays O(1)
            for proj in (block.attn.w_o, block.ff.down):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * c.n_layers))
        if c.tie_weights:  # one V×C matrix both reads tokens in and scores them out
            self.head.weight = self.embed.token.weight

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def forward(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) → logits (B, T, V). Ids outside [0, vocab_size) raise a ValueError here, instead of an
        IndexError on the CPU or a device-side assert that would poison a CUDA session.

        With `kv_cache` (from `new_kv_cache`), idx holds only the positions after the `kv_cache.length`
        already stored: they get positions length … length+T-1, attend to the stored ones too, and are
        appended to the cache. Prefill with the prompt, then feed one token at a time."""
        return self.head(self.features(idx, kv_cache))  # (B, T, V)

    def features(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) → the final hidden states (B, T, C) the head reads: what a fine-tuned task head uses."""
        check_token_ids(idx, "idx", self.config.vocab_size)
        T = idx.size(1)
        past = 0 if kv_cache is None else self._check_cache(kv_cache, idx)
        if past + T > self.config.block_size:
            if past:
                raise ValueError(f"the KV cache holds {past} positions and {T} more were given: longer than "
                                 f"block_size={self.config.block_size}; start a new cache on the last "
                                 f"{self.config.block_size} tokens")
            raise ValueError(f"sequence length {T} is longer than block_size={self.config.block_size}; "
                             f"crop the context to the last {self.config.block_size} tokens")
        x = self.embed(idx, past)            # (B, T, C): positions past … past+T-1
        for i, block in enumerate(self.blocks):
            x = block(x, kv_cache=None if kv_cache is None else kv_cache.layers[i])  # (B, T, C)
        return self.ln_f(x)                  # (B, T, C)

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty KV cache for `batch_size` sequences of up to block_size positions, on the model's device
        and in its dtype: 2 · n_layers · n_kv_heads · head_dim numbers per position (see kv_cache.py)."""
        c, weight = self.config, self.embed.token.weight
        return KVCache(c.n_layers, batch_size, c.n_kv_heads or c.n_heads, c.block_size, c.head_dim,
                       dtype=weight.dtype, device=weight.device)

    def _check_cache(self, kv_cache: KVCache, idx: torch.Tensor) -> int:
        """The number of cached positions, after checking the cache fits this model and batch."""
        if not isinstance(kv_cache, KVCache) or len(kv_cache.layers) != self.config.n_layers:
            raise ValueError(f"kv_cache must be a KVCache with one layer per block ({self.config.n_layers}), made "
                             f"by model.new_kv_cache(batch_size); got {type(kv_cache).__name__}")
        rows = kv_cache.layers[0].keys.size(0)
        if rows != idx.size(0):
            raise ValueError(f"kv_cache was made for batch_size={rows}, but idx has {idx.size(0)} rows")
        return kv_cache.length


def init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) for linear and embedding weights, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
