"""Forward + backward time of course_utils' MultiHeadAttention vs torch.nn.MultiheadAttention.

Like with like: our training-mode fast path (F.scaled_dot_product_attention, dropout 0) against
torch's module with need_weights=False, at batch 8, length 256, d_model 256, 8 heads (self-attention).
The explicit formula (need_weights=True, which also keeps the weights) is timed for reference.
The three are interleaved in every round so machine load hits them alike; we report the median and
the minimum per call and the ratio ours / torch (target ≤ 1.0).

    python benchmarks/mha_speed.py [--rounds 9] [--calls 3]   # writes benchmarks/results/mha_speed.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from course_utils.attention import MultiHeadAttention

B, T, D_MODEL, HEADS = 8, 256, 256, 8
RESULTS = Path(__file__).resolve().parent / "results" / "mha_speed.json"


def forward_backward(module: nn.Module, call) -> callable:
    """One training step's worth of attention work: forward, sum, backward."""
    def step(x: torch.Tensor) -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        call(module, x).sum().backward()
    return step


def build(seed: int = 0) -> dict[str, callable]:
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(D_MODEL, HEADS, dropout=0.0, batch_first=True).train()
    ours = MultiHeadAttention(HEADS, D_MODEL, dropout=0.0).load_from_torch(ref).train()
    return {
        "torch nn.MultiheadAttention (need_weights=False)":
            forward_backward(ref, lambda m, x: m(x, x, x, need_weights=False)[0]),
        "ours, fast path (F.scaled_dot_product_attention)":
            forward_backward(ours, lambda m, x: m(x, x, x)),
        "ours, explicit formula (need_weights=True)":
            forward_backward(ours, lambda m, x: m(x, x, x, need_weights=True)),
    }


def measure(rounds: int, calls: int) -> dict[str, list[float]]:
    """Seconds per call, one sample per (round, variant); variants interleaved within each round."""
    steps = build()
    x = torch.randn(B, T, D_MODEL, requires_grad=True)
    for step in steps.values():  # warm-up: allocator, kernels
        for _ in range(2):
            step(x)
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds):
        order = list(steps) if r % 2 == 0 else list(reversed(steps))  # no variant always goes first
        for name in order:
            start = time.perf_counter()
            for _ in range(calls):
                steps[name](x)
            samples[name].append((time.perf_counter() - start) / calls)
    return samples


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=3, help="forward+backward calls per timed sample")
    args = parser.parse_args(argv)
    samples = measure(args.rounds, args.calls)
    torch_name, fast_name, explicit_name = list(samples)
    summary = {name: {"median_ms": 1e3 * statistics.median(s), "min_ms": 1e3 * min(s)} for name, s in samples.items()}
    for name, s in summary.items():
        print(f"{name:<52} median {s['median_ms']:7.2f} ms   min {s['min_ms']:7.2f} ms")
    ratio = {stat: summary[fast_name][stat] / summary[torch_name][stat] for stat in ("median_ms", "min_ms")}
    explicit = {stat: summary[explicit_name][stat] / summary[torch_name][stat] for stat in ("median_ms", "min_ms")}
    print(f"ratio fast path / torch: median {ratio['median_ms']:.2f}, min {ratio['min_ms']:.2f} (target ≤ 1.0)")
    print(f"ratio explicit / torch:  median {explicit['median_ms']:.2f}, min {explicit['min_ms']:.2f}")
    result = {
        "what": "forward+backward per call, training mode, dropout 0, self-attention",
        "shape": {"batch": B, "length": T, "d_model": D_MODEL, "heads": HEADS},
        "rounds": args.rounds, "calls_per_sample": args.calls,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "load_average_1min_after": round(os.getloadavg()[0], 2),
        "processor": platform.processor() or platform.machine(),
        "results_ms": summary,
        "ratio_fast_path_to_torch": ratio, "ratio_explicit_to_torch": explicit, "target_ratio": 1.0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(RESULTS.parent.parent.parent)}")
    return result


if __name__ == "__main__":
    main()
