"""Does `torch.compile` pay on two CPU cores? Notebook 05's winning GPT, eager vs compiled.

The same training step (the chosen recipe of `gpt05_recipe.py`: BPE-sized vocabulary 1,024, 2 blocks × 96,
RoPE, RMSNorm, SwiGLU, Muon; 32 windows × 64 tokens) is timed eagerly and under `torch.compile` (inductor, a cold
cache in a fresh temporary folder, so the compile time is what a learner's first run pays). Reported: seconds
until the first 10 steps are done (compile included), then steps/s over the next `--steps`, and the break-even:
how many steps a run needs before the compiled model has paid back its compile time. (Measured 2026-12-02 on an
AMD EPYC: 0.81× after 28 s of compiling, so never; dynamo also warns of a graph break at the GPT's input check,
`ids.min().item()`, which splits the forward pass in two.) Writes
benchmarks/results/compile_speed.json (≈ 1.5 min on 2 cores).

    python benchmarks/compile_speed.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from equal_time import environment  # noqa: E402

from course_utils.optim import make_optimizer  # noqa: E402
from course_utils.training import lm_loss  # noqa: E402
from course_utils.transformer import GPT, GPTConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "compile_speed.json"
CONFIG = GPTConfig(vocab_size=1024, block_size=64, d_model=96, n_heads=4, n_layers=2, dropout=0.0,
                   positional="rope", norm="rmsnorm", feed_forward="swiglu")


def time_training(compiled: bool, steps: int, first: int = 10) -> dict:
    """Seconds for the first `first` steps (compilation happens there), then steps/s over `steps` more."""
    torch.manual_seed(0)
    model = GPT(CONFIG)
    optimizer = make_optimizer(model, 1e-2, "muon", adamw_lr=3e-2)
    forward = torch.compile(model) if compiled else model
    x, y = torch.randint(CONFIG.vocab_size, (2, 32, 64))
    start = time.perf_counter()
    for i in range(first + steps):
        if i == first:
            warm = time.perf_counter()
        loss = lm_loss(forward(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    end = time.perf_counter()
    return {"first_steps_seconds": round(warm - start, 2), "steps_per_s": round(steps / (end - warm), 2)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200, help="timed steps after the first 10")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache          # cold: what a first run pays
        eager = time_training(False, args.steps)
        compiled = time_training(True, args.steps)
    speedup = compiled["steps_per_s"] / eager["steps_per_s"]
    extra = compiled["first_steps_seconds"] - eager["first_steps_seconds"]
    per_step_saving = 1 / eager["steps_per_s"] - 1 / compiled["steps_per_s"]
    out = {"what": "notebook 05's winning GPT (2 × 96, RoPE/RMSNorm/SwiGLU, Muon), one training step of 32 × 64 "
                   "tokens, eager vs torch.compile (inductor, cold cache)",
           "config": CONFIG.to_dict(), "eager": eager, "compiled": compiled, "speedup": round(speedup, 3),
           "compile_seconds": round(extra, 1),
           "break_even_steps": round(extra / per_step_saving) if per_step_saving > 0 else None,
           **environment()}
    print(f"eager: {eager['steps_per_s']:.1f} steps/s · compiled: {compiled['steps_per_s']:.1f} steps/s "
          f"({speedup:.2f}×) after {extra:.0f} s of compiling · break-even: "
          + (f"{out['break_even_steps']:,} steps" if out["break_even_steps"] else "never (not faster)"))
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
