"""Committed benchmark results (`benchmarks/results/*.json`) for notebooks to quote.

A notebook that cites a longer run than it can afford (an LSTM trained for 6,000 steps, the MultiHeadAttention
speed on an idle machine) prints the figure from the committed result instead of copying it into prose, so the
prose, the output and the benchmark cannot drift apart.
"""
from __future__ import annotations

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def load_benchmark(name: str) -> dict:
    """The committed result of `benchmarks/<name>.py`, e.g. `load_benchmark("rnn_lm")["val_loss"]`."""
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in RESULTS_DIR.glob("*.json"))
        raise ValueError(f"name must be one of the committed benchmark results {known}, got {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))
