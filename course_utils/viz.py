"""Plots the notebooks share: bar charts, Zipf's law, attention heatmaps, loss curves."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def bar_chart(values: Mapping[str, float], title: str, ylabel: str, ax=None, fmt: str = "{:.2f}"):
    """Labelled bars with their values printed on top."""
    ax = ax or plt.subplots()[1]
    bars = ax.bar(list(values), list(values.values()), color="tab:blue")
    ax.bar_label(bars, labels=[fmt.format(v) for v in values.values()], fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return ax


def zipf_plot(counts: Sequence[int], title: str = "Zipf's law: frequency ∝ 1 / rank", ax=None, label=None):
    """Frequency vs rank on log–log axes with the ideal 1/rank line for reference."""
    ax = ax or plt.subplots()[1]
    freq = np.sort(np.asarray(counts, dtype=float))[::-1]
    rank = np.arange(1, len(freq) + 1)
    ax.loglog(rank, freq, ".", markersize=3, label=label or "observed")
    ax.loglog(rank, freq[0] / rank, "--", color="gray", label="ideal: f₁ / rank")
    ax.set_xlabel("rank")
    ax.set_ylabel("frequency")
    ax.set_title(title)
    ax.legend()
    return ax


def attention_heatmap(weights, x_labels: Sequence[str] | None = None, y_labels: Sequence[str] | None = None,
                      title: str = "attention weights", ax=None, cmap: str = "viridis"):
    """Show a (T_q, T_k) weight matrix: row = query position, column = key position."""
    w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (T_q, T_k), got shape {tuple(w.shape)}; pick one batch/head")
    ax = ax or plt.subplots(figsize=(max(3, 0.45 * w.shape[1] + 1.5), max(2.5, 0.4 * w.shape[0] + 1)))[1]
    im = ax.imshow(w, cmap=cmap, vmin=0, vmax=max(1e-9, float(w.max())), aspect="auto")
    ax.grid(False)
    if x_labels is not None:
        ax.set_xticks(range(len(x_labels)), x_labels, rotation=90)
    if y_labels is not None:
        ax.set_yticks(range(len(y_labels)), y_labels)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position")
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax


def loss_curves(history: Mapping[str, Sequence[float]], steps: Sequence[int] | None = None,
                title: str = "loss curves", ylabel: str = "cross-entropy (nats/token)", ax=None,
                baselines: Mapping[str, float] | None = None):
    """Plot one line per series in `history` (e.g. 'train', 'val'); dashed lines for baselines."""
    ax = ax or plt.subplots()[1]
    for name, values in history.items():
        xs = steps if steps is not None and len(steps) == len(values) else range(len(values))
        ax.plot(list(xs), list(values), label=name)
    for name, value in (baselines or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color="gray")
        ax.annotate(name, (ax.get_xlim()[1], value), fontsize=8, ha="right", va="bottom")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax
