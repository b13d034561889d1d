"""Fine-tuning at equal training time: the step-count search shared by `mt_equal_time.py` (06) and
`summarize_equal_time.py` (07).

Each step count is a full fine-tuning run (the cosine schedule depends on the total), tried in increasing order
until one takes longer than the from-scratch network's training; each run that fits is scored on validation, and
the best one is kept. The test set plays no part.
"""
from __future__ import annotations

import os
import platform
from typing import Any, Callable, Sequence

import torch

from run_all import cpu_model  # benchmarks/ is on sys.path when a benchmark runs as a script


def best_run_within(step_counts: Sequence[int], budget: float, tune: Callable[[int], tuple[Any, float]],
                    score: Callable[[Any], float], metric: str) -> tuple[list[dict], tuple[dict, Any]]:
    """`tune(steps) -> (tuned, train_seconds)`, `score(tuned) -> validation score` (higher is better), recorded
    under `metric`. Returns every run's record and (record, tuned) of the best run that fits in `budget` seconds."""
    runs, kept = [], None
    for steps in step_counts:
        tuned, seconds = tune(steps)
        run = {"steps": steps, "train_seconds": round(seconds, 1), "fits": seconds <= budget}
        if run["fits"]:
            run[metric] = score(tuned)
            if kept is None or run[metric] > kept[0][metric]:
                kept = (run, tuned)
        runs.append(run)
        print(run, flush=True)
        if not run["fits"]:
            break
    if kept is None:
        raise SystemExit(f"no fine-tune of {list(step_counts)} steps fits in {budget:.1f} s")
    return runs, kept


def environment() -> dict:
    """Threads, load and machine, recorded beside the timings (the seconds depend on them)."""
    return {"threads": torch.get_num_threads(), "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
                        "cpu_model": cpu_model()}}
