"""Training compute and model FLOPs utilisation (MFU): how much of the machine's arithmetic a run uses.

    flops_per_token = training_flops_per_token(n_params, n_layers, context, d_model)   # 6·N + 12·L·T·d
    peak = matmul_peak_flops()                                                           # this machine, measured
    mfu = model_flops_utilization(tokens_per_second, flops_per_token, peak)

A training step costs about 6·N FLOPs per token for the products with weights (2N forward, 4N backward)
plus 12·L·T·d for attention's own products (QKᵀ and weights·V: 4·T·d per token and layer forward, three
times that with backward) — notebook 11 checks both terms against PyTorch's FLOP counter. MFU divides the
FLOPs a run *needs* by what the hardware could do in the same time; recomputation (activation
checkpointing) does not count as useful work, so it lowers MFU.
"""
from __future__ import annotations

import time

import torch

from course_utils.env import torch_threads
from course_utils.validation import require_int, require_real


def training_flops_per_token(n_params: int, n_layers: int, context: int, d_model: int) -> int:
    """FLOPs of one training step (forward + backward) per token: 6·N + 12·L·T·d."""
    n = require_int(n_params, "n_params", minimum=1)
    layers = require_int(n_layers, "n_layers", minimum=0)
    t = require_int(context, "context", minimum=1)
    d = require_int(d_model, "d_model", minimum=1)
    return 6 * n + 12 * layers * t * d


def model_flops_utilization(tokens_per_second: float, flops_per_token: float, peak_flops_per_second: float) -> float:
    """The fraction of `peak_flops_per_second` a run at `tokens_per_second` spends on the model's own FLOPs."""
    speed = require_real(tokens_per_second, "tokens_per_second", above=0)
    need = require_real(flops_per_token, "flops_per_token", above=0)
    peak = require_real(peak_flops_per_second, "peak_flops_per_second", above=0)
    return speed * need / peak


def matmul_peak_flops(size: int = 1024, repeats: int = 5, threads: int | None = None) -> float:
    """The best float32 FLOP/s of a (size × size) @ (size × size) product over `repeats` tries — the usual
    stand-in for a CPU's attainable peak. `threads` (default: torch's current setting) is restored after."""
    size = require_int(size, "size", minimum=1)
    repeats = require_int(repeats, "repeats", minimum=1)
    with torch_threads(threads):
        a = torch.randn(size, size, generator=torch.Generator().manual_seed(0))
        a @ a  # warm-up: the first product allocates and spins up the thread pool
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ a  # size³ multiply-adds = 2·size³ FLOPs
            best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
