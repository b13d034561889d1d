"""Checkers for notebook 12 (post-training): the KV cache's bytes per token, the DPO loss, and merging a LoRA
adapter into its weight."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.kv_cache import kv_cache_bytes_per_token
from course_utils.lora import LoRALinear
from course_utils.preference import dpo_loss
from course_utils.transformer import GPTConfig


def _number(name: str, got) -> float:
    if got is None:
        _fail(f"{name} returned None — return a number")
    try:
        return float(got)
    except (TypeError, ValueError):
        _fail(f"{name} should return a number, got {type(got).__name__}: {got!r}")


def _tensor(name: str, got) -> torch.Tensor:
    if got is None:
        _fail(f"{name} returned None — return a tensor")
    if not torch.is_tensor(got):
        _fail(f"{name} should return a torch tensor, got {type(got).__name__}")
    return got


# ---- exercise 1 ----------------------------------------------------------------------------------
@exercise_check
def check_exercise_1(cache_bytes_per_token: Callable[[int, int, int, int, int], int]) -> None:
    """2 (K and V) · n_layers · n_kv_heads · (d_model / n_heads) · bytes per number."""
    cases = [(4, 6, 6, 192, 4), (12, 12, 12, 768, 4), (32, 32, 8, 4096, 2), (2, 3, 1, 36, 4)]
    for n_layers, n_heads, n_kv, d_model, nbytes in cases:
        got = _number("cache_bytes_per_token", cache_bytes_per_token(n_layers, n_heads, n_kv, d_model, nbytes))
        config = GPTConfig(vocab_size=10, d_model=d_model, n_heads=n_heads, n_layers=n_layers, n_kv_heads=n_kv)
        want = kv_cache_bytes_per_token(config, torch.float32 if nbytes == 4 else torch.bfloat16)
        if math.isclose(got, want):
            continue
        args = f"({n_layers}, {n_heads}, {n_kv}, {d_model}, {nbytes})"
        if math.isclose(got, want / 2):
            hint = "each layer stores a key AND a value per head: a factor 2"
        elif n_kv != n_heads and math.isclose(got, want * n_heads / n_kv):
            hint = "only the key/value heads are cached: use n_kv_heads, not n_heads"
        elif math.isclose(got, want / nbytes):
            hint = "that counts numbers, not bytes: multiply by bytes_per_number"
        else:
            hint = "2 · n_layers · n_kv_heads · head size (d_model / n_heads) · bytes_per_number"
        _fail(f"cache_bytes_per_token{args} = {got:g}, expected {want:g} — {hint}")
    _pass("cache_bytes_per_token = 2 · layers · KV heads · head size · bytes — a 32-layer model with 8 KV heads "
          f"of 128 in bf16: {kv_cache_bytes_per_token(GPTConfig(10, d_model=4096, n_heads=32, n_layers=32, n_kv_heads=8), torch.bfloat16):,} bytes per token")


# ---- exercise 2 ----------------------------------------------------------------------------------
@exercise_check
def check_exercise_2(my_dpo_loss: Callable) -> None:
    """mean −log σ(β[(π_w − ref_w) − (π_l − ref_l)]) for summed log-probs (B,)."""
    g = torch.Generator().manual_seed(3)
    for beta in (0.1, 0.5):
        pi_w, pi_l, ref_w, ref_l = (torch.randn(16, generator=g) * 4 - 15 for _ in range(4))
        got = _tensor("my_dpo_loss", my_dpo_loss(pi_w, pi_l, ref_w, ref_l, beta))
        want = dpo_loss(pi_w, pi_l, ref_w, ref_l, beta)[0]
        if got.numel() != 1:
            _fail(f"my_dpo_loss should return one number (the mean over the batch), got shape {tuple(got.shape)}")
        if torch.allclose(got.reshape(()), want, atol=1e-5):
            continue
        swapped = dpo_loss(pi_l, pi_w, ref_l, ref_w, beta)[0]
        no_beta = dpo_loss(pi_w, pi_l, ref_w, ref_l, 1.0)[0]
        no_ref = torch.nn.functional.softplus(-beta * (pi_w - pi_l)).mean()
        hint = ("the sign is flipped: the loss must fall when the chosen reward rises above the rejected one"
                if torch.allclose(got.reshape(()), swapped, atol=1e-5) else
                "β is missing: scale both rewards by beta" if torch.allclose(got.reshape(()), no_beta, atol=1e-5) else
                "each reward is the policy's log-prob MINUS the reference's" if torch.allclose(got.reshape(()), no_ref, atol=1e-5)
                else "r_w = β(π_w − ref_w), r_l = β(π_l − ref_l), loss = mean of −logsigmoid(r_w − r_l)")
        _fail(f"my_dpo_loss(β={beta}) = {got.item():.4f}, expected {want.item():.4f} — {hint}")
    _pass("my_dpo_loss equals course_utils.preference.dpo_loss")


# ---- exercise 3 ----------------------------------------------------------------------------------
@exercise_check
def check_exercise_3(merged_weight: Callable) -> None:
    """W + (alpha / rank) · B @ A gives a plain linear layer the LoRA layer's outputs."""
    torch.manual_seed(0)
    for rank, alpha in ((4, 4.0), (2, 8.0)):
        layer = LoRALinear(nn.Linear(7, 5), rank=rank, alpha=alpha)
        with torch.no_grad():
            layer.lora_B.normal_(0, 0.5)
        W, A, B = layer.base.weight.detach().clone(), layer.lora_A.detach().clone(), layer.lora_B.detach().clone()
        got = _tensor("merged_weight", merged_weight(W, A, B, alpha, rank))
        if tuple(got.shape) != tuple(W.shape):
            _fail(f"merged_weight should have W's shape {tuple(W.shape)}, got {tuple(got.shape)} — B @ A, not A @ B")
        want = W + alpha / rank * B @ A
        if torch.allclose(got, want, atol=1e-6):
            continue
        hint = ("the update is scaled by alpha / rank" if torch.allclose(got, W + B @ A, atol=1e-6)
                else "you returned only the update: add it to W" if torch.allclose(got, want - W, atol=1e-6)
                else "W + (alpha / rank) · B @ A")
        _fail(f"merged_weight(rank={rank}, alpha={alpha}) is not W + (α/r)·B A — {hint}")
    x = torch.randn(3, 7)
    with torch.no_grad():
        same = torch.allclose(nn.functional.linear(x, merged_weight(W, A, B, alpha, rank), layer.base.bias), layer(x),
                              atol=1e-5)
    if not same:
        _fail("a linear layer with your merged weight does not reproduce the LoRA layer's outputs")
    _pass("merged_weight = W + (α/r)·B A: a plain linear layer now gives the LoRA layer's outputs")
