"""How fast this machine trains the course's models, and so how long the course takes here.

Almost all of a notebook's run time is training steps, so one number predicts them all: how many training steps
per second this machine runs for notebook 05's GPT (3 blocks × 96 channels, 80 characters, 32 windows × 64
characters, AdamW) — the step notebook 05 times with its `steps_per_second`. `benchmarks/run_all.py` measures
that rate before each notebook it times, so each recorded time becomes a cost that does not depend on the machine:
**reference steps** = seconds × rate. Dividing a cost by your machine's rate predicts your time.

The rate is timed on **one thread**. The notebooks run on torch's default threads, but they gain much less from a
second thread than this matrix-heavy step does (measured on a 2-core AMD EPYC: the step 60–70 % faster with two
threads, notebooks 02 and 04 only 20 %), and less still from more; a one-thread rate measures the speed of one core,
which is what most of a notebook's time follows. On many cores the prediction is therefore a little pessimistic.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from course_utils.env import torch_threads
from course_utils.validation import require_int, require_real

REFERENCE_MODEL = dict(vocab_size=80, block_size=64, d_model=96, n_heads=4, n_layers=3)   # notebook 05's GPT
REFERENCE_BATCH = (32, 64)                                                             # (B, T) of its training
BUDGET_SECONDS = {"course": 600.0, "notebook": 120.0}                                  # the course's time targets


def steps_per_second(model: torch.nn.Module, get_batch: Callable[[str], tuple[torch.Tensor, torch.Tensor]],
                     steps: int = 20, warmup: int = 5) -> float:
    """Training steps per second (AdamW included), timed after `warmup` steps that pay one-off set-up costs.

    Notebook 05 builds this function step by step; the course's tests check that the two agree."""
    steps = require_int(steps, "steps", minimum=1)
    warmup = require_int(warmup, "warmup", minimum=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x, y = get_batch("train")
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def reference_step_rate(repeats: int = 3, steps: int = 20, warmup: int = 5, threads: int = 1) -> float:
    """This machine's training steps per second for notebook 05's GPT on CPU (where the notebooks train), on
    `threads` threads (torch's setting is restored afterwards): the median of `repeats` timings, each of a freshly
    built model on random character windows (≈ 1–4 s each)."""
    from course_utils.transformer import GPT, GPTConfig    # imported here: the transformer imports the package

    repeats = require_int(repeats, "repeats", minimum=1)
    threads = require_int(threads, "threads", minimum=1)      # checked before any model is built
    batch, block = REFERENCE_BATCH
    generator = torch.Generator().manual_seed(0)

    def get_batch(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.randint(0, REFERENCE_MODEL["vocab_size"], (batch, block + 1), generator=generator)
        return ids[:, :-1], ids[:, 1:]                        # (B, T) inputs and next-character targets

    rates = []
    with torch_threads(threads), torch.random.fork_rng(devices=[]):   # leave the caller's threads and random stream
        for _ in range(repeats):
            torch.manual_seed(0)
            rates.append(steps_per_second(GPT(GPTConfig(**REFERENCE_MODEL)), get_batch, steps=steps, warmup=warmup))
    return statistics.median(rates)


def _require_rate(rate: float) -> float:
    return require_real(rate, "rate (reference steps per second)", above=0, below=math.inf)


def reference_steps(seconds: float, rate: float) -> float:
    """A measured time as a machine-free cost: seconds × the machine's reference steps per second."""
    return require_real(seconds, "seconds", at_least=0) * _require_rate(rate)


def predict_seconds(cost: float, rate: float) -> float:
    """The time a cost in reference steps takes on a machine that runs `rate` reference steps per second."""
    return require_real(cost, "cost (reference steps)", at_least=0) / _require_rate(rate)


def course_time_estimate(rate: float, timings: dict | None = None) -> dict[str, float]:
    """Predicted seconds per notebook on a machine running `rate` reference steps per second, from the timings
    `benchmarks/run_all.py` committed (`benchmarks/results/notebooks.json`, or `timings` in its format)."""
    rate = _require_rate(rate)
    if timings is None:
        from course_utils.reference_results import load_benchmark

        timings = load_benchmark("notebooks")
    notebooks = timings.get("notebooks", {}) if isinstance(timings, dict) else {}
    missing = sorted(name for name, t in notebooks.items() if "reference_steps" not in t)
    if not notebooks or missing:
        raise ValueError("timings must give every notebook's 'reference_steps' (run benchmarks/run_all.py "
                         f"--only notebooks), got none for {missing or 'any notebook'}")
    return {name: predict_seconds(t["reference_steps"], rate) for name, t in notebooks.items()}
