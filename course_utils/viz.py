"""Plots the notebooks share: bar charts, Zipf's law, attention heatmaps, loss curves."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_utils.validation import require_int


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


# The course's notebooks, grouped into stages that run left → right from theory to practice.
COURSE_STAGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("start", (("00", "welcome & setup"), ("01", "vocabulary & encoding"))),
    ("theory", (("02", "n-gram & RNN LMs"), ("03", "the attention formula"), ("04", "multi-head attention"))),
    ("build", (("05", "a GPT language model"),)),
    ("apply", (("06", "machine translation"), ("07", "summarization"), ("08", "sentiment analysis"),
               ("09", "dialogue systems"))),
    ("beyond", (("10", "challenges & FAQ"), ("11", "scaling up (DDP)"), ("12", "base model → assistant"))),
)
# Reading order: each arrow says "read this before that"; a stage name stands for all its notebooks.
COURSE_EDGES: tuple[tuple[str, str], ...] = (
    ("00", "01"), ("01", "02"), ("02", "03"), ("03", "04"), ("04", "05"),
    ("05", "06"), ("05", "07"), ("05", "08"), ("05", "09"), ("apply", "10"), ("apply", "11"),
    ("apply", "12"),
)
_STAGE_COLORS = {"start": "#d9d9d9", "theory": "#9ecae1", "build": "#a1d99b", "apply": "#fdd0a2",
                 "beyond": "#dadaeb"}


def course_map(title: str = "Course map: notebooks 00–12, theory → practice", ax=None):
    """Boxes for notebooks 00–12 in stage columns (start → theory → build → apply → beyond), with arrows
    in reading order — the picture of the course that notebook 00 shows."""
    ax = ax or plt.subplots(figsize=(12, 4.4))[1]
    box_w, box_h, col_gap = 2.2, 0.7, 0.55
    n_rows = max(len(nbs) for _, nbs in COURSE_STAGES)
    centers: dict[str, tuple[float, float]] = {}   # notebook → (left x, centre y)
    stage_right: dict[str, tuple[float, float, float]] = {}  # stage → (right x, lowest y, highest y)
    for col, (stage, notebooks) in enumerate(COURSE_STAGES):
        x = col * (box_w + col_gap)
        top = (n_rows - len(notebooks)) / 2  # centre short columns vertically
        ax.text(x + box_w / 2, n_rows + 0.1, stage, ha="center", fontsize=10, fontweight="bold")
        for row, (number, name) in enumerate(notebooks):
            y = n_rows - 1 - (top + row) + (1 - box_h) / 2
            ax.add_patch(plt.Rectangle((x, y), box_w, box_h, facecolor=_STAGE_COLORS[stage],
                                       edgecolor="black", linewidth=0.8))
            ax.text(x + box_w / 2, y + box_h / 2, f"{number}\n{name}", ha="center", va="center", fontsize=8.5)
            centers[number] = (x, y + box_h / 2)
        ys = [centers[n][1] for n, _ in notebooks]
        stage_right[stage] = (x + box_w, min(ys) - box_h / 2, max(ys) + box_h / 2)
    for a, b in COURSE_EDGES:
        xb, yb = centers[b]
        if a in stage_right:  # a whole stage: a bracket along its right side, then an arrow
            xr, y_low, y_high = stage_right[a]
            ax.plot([xr + 0.12] * 2, [y_low, y_high], color="dimgray", linewidth=0.8)
            start, end = (xr + 0.12, yb), (xb, yb)
        elif centers[a][0] == xb:  # same column: from the bottom of a to the top of b
            xa, ya = centers[a]
            start, end = (xa + box_w / 2, ya - box_h / 2), (xb + box_w / 2, yb + box_h / 2)
        else:  # next column: from the right edge of a to the left edge of b
            xa, ya = centers[a]
            start, end = (xa + box_w, ya), (xb, yb)
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "->", "color": "dimgray", "linewidth": 0.8})
    ax.set_xlim(-0.1, len(COURSE_STAGES) * (box_w + col_gap) - col_gap + 0.1)
    ax.set_ylim(-0.1, n_rows + 0.4)
    ax.set_axis_off()
    ax.set_title(title)
    return ax


# ---- notebook 05: positional encodings and next-token distributions ---------------------------------
def matrix_heatmap(values, title: str, xlabel: str = "dimension", ylabel: str = "position", ax=None,
                   cmap: str = "RdBu_r"):
    """A signed (rows, cols) matrix on a colour scale centred at 0 — e.g. a positional-encoding table
    (position × dimension): red > 0, blue < 0."""
    m = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    if m.ndim != 2:
        raise ValueError(f"values must be 2-D (rows, cols), got shape {tuple(m.shape)}")
    ax = ax or plt.subplots()[1]
    limit = max(1e-9, float(np.abs(m).max()))
    im = ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax


def probability_bars(probs, labels: Sequence[str], title: str, ax=None, top: int = 12, kept=None):
    """The `top` most likely tokens of a next-token distribution `probs` (V,) as bars. With `kept`
    (a (V,) bool mask, e.g. what top-k / top-p lets through) the tokens filtered out are drawn hollow."""
    as_numpy = lambda t: t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)  # noqa: E731
    p = as_numpy(probs).astype(float)
    if p.ndim != 1 or len(p) != len(labels):
        raise ValueError(f"probs must be 1-D with one entry per label, got shape {tuple(p.shape)} and "
                         f"{len(labels)} labels")
    keep = np.ones(len(p), dtype=bool) if kept is None else as_numpy(kept).astype(bool)
    if keep.shape != p.shape:
        raise ValueError(f"kept must have the shape of probs {tuple(p.shape)}, got {tuple(keep.shape)}")
    ax = ax or plt.subplots()[1]
    order = np.argsort(-p, kind="stable")[:top]
    ax.bar(range(len(order)), p[order], color=["tab:blue" if keep[i] else "none" for i in order],
           edgecolor="tab:blue")
    shown = {" ": "␣", "\n": "⏎"}
    ax.set_xticks(range(len(order)), [shown.get(labels[i], labels[i]) for i in order])
    ax.set_ylabel("probability")
    ax.set_title(title)
    return ax


# ---- notebook 11: pictures of parallel training ------------------------------------------------
_SLICE_COLORS = ("#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc")


def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str = "white", fontsize: float = 8.5,
         **style) -> None:
    ax.add_patch(plt.Rectangle((x, y), w, h, facecolor=color, edgecolor="black", linewidth=0.8, **style))
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str = "dimgray") -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": color, "linewidth": 1})


def data_parallel_diagram(n_processes: int = 2, title: str = "Data parallelism: split the batch, "
                          "average the gradients", ax=None):
    """One step of data-parallel training: the global batch is cut into one slice per process; every
    process holds a full copy of the model and computes the gradient of its slice; an all-reduce averages
    the gradients; every copy takes the same optimizer step, so the copies stay identical."""
    n_processes = require_int(n_processes, "n_processes", minimum=1, maximum=len(_SLICE_COLORS))
    ax = ax or plt.subplots(figsize=(9, 5.2))[1]
    width, gap = 2.6, 0.5
    total = n_processes * width + (n_processes - 1) * gap
    slice_w = total / n_processes
    ax.text(-0.2, 6.45, "global batch (B sequences)", ha="right", va="center", fontsize=9)
    for k in range(n_processes):  # 1) the global batch, one coloured slice per process
        _box(ax, k * slice_w, 6.1, slice_w, 0.7, f"slice {k}: B/{n_processes} sequences", _SLICE_COLORS[k])
    for k in range(n_processes):
        x = k * (width + gap)
        _arrow(ax, (k * slice_w + slice_w / 2, 6.1), (x + width / 2, 5.25))
        _box(ax, x, 3.0, width, 2.25, "", "#f7f7f7")  # 2) a process: full model, its slice, its gradient
        ax.text(x + width / 2, 5.0, f"process (rank) {k}", ha="center", fontsize=9, fontweight="bold")
        _box(ax, x + 0.2, 4.1, width - 0.4, 0.6, "full copy of the model θ", "#e5f5e0")
        _box(ax, x + 0.2, 3.2, width - 0.4, 0.6, f"gradient g{k} of slice {k}", _SLICE_COLORS[k])
        _arrow(ax, (x + width / 2, 4.1), (x + width / 2, 3.8))
        _arrow(ax, (x + width / 2, 3.0), (x + width / 2, 2.3))  # 3) into the all-reduce …
        _arrow(ax, (x + width / 2, 1.6), (x + width / 2, 0.9))  # … and the same mean back out
        _box(ax, x + 0.2, 0.15, width - 0.4, 0.75, "θ ← θ − lr · update(ḡ)\n(the same step everywhere)", "#e5f5e0")
    terms = " + ".join(f"g{k}" for k in range(n_processes))
    _box(ax, 0, 1.6, total, 0.7, f"all-reduce:  ḡ = ({terms}) / {n_processes}\nevery process receives the same mean",
         "#fee391", fontsize=9)
    ax.set_xlim(-2.6, total + 0.2)
    ax.set_ylim(0, 7.0)
    ax.set_axis_off()
    ax.set_title(title)
    return ax


# What each of two devices holds under each strategy: (row label, [(device, [(part, fraction, shade)])]).
_STRATEGY_ROWS = (
    ("data parallel (DDP)", "every device: all layers, all optimizer state;\nhalf of the batch"),
    ("fully sharded (FSDP / ZeRO-3)", "every device: half of every tensor and its optimizer\nstate; "
                                       "layers gathered just in time; half of the batch"),
    ("tensor parallel", "every device: half of each weight matrix\n(columns/rows); the whole batch"),
    ("pipeline parallel", "device 0: layers 1–2, device 1: layers 3–4;\nmicro-batches flow through"),
)


def parallelism_strategies(title: str = "Who holds what: four ways to spread training over 2 devices",
                           ax=None):
    """For data, fully sharded, tensor and pipeline parallelism, draw what each of 2 devices stores of a
    4-layer model (filled = stored there, hatched = fetched from the other device when needed)."""
    ax = ax or plt.subplots(figsize=(11, 6))[1]
    layer_w, layer_h, dev_w = 1.5, 0.25, 1.9
    for row, (name, note) in enumerate(_STRATEGY_ROWS):
        y0 = (len(_STRATEGY_ROWS) - 1 - row) * 1.65
        ax.text(-0.2, y0 + 0.75, name, ha="right", va="center", fontsize=9.5, fontweight="bold")
        ax.text(2 * dev_w + 0.7, y0 + 0.75, note, ha="left", va="center", fontsize=8.5)
        for device in range(2):
            x0 = device * (dev_w + 0.3)
            _box(ax, x0, y0, dev_w, 1.5, "", "#f7f7f7")
            ax.text(x0 + dev_w / 2, y0 + 1.23, f"device {device}", ha="center", va="bottom", fontsize=8)
            for layer in range(4):
                x, y = x0 + (dev_w - layer_w) / 2, y0 + 0.1 + layer * (layer_h + 0.03)
                own = _SLICE_COLORS[device]
                if row == 0:  # DDP: a full replica
                    _box(ax, x, y, layer_w, layer_h, f"layer {layer + 1}", "#e5f5e0", fontsize=7)
                elif row in (1, 2):  # sharded: this device's half of every tensor
                    half = layer_w / 2
                    mine, other = (x, x + half) if device == 0 else (x + half, x)
                    _box(ax, mine, y, half, layer_h, f"L{layer + 1} ½", own, fontsize=7)
                    style = {"hatch": "///", "alpha": 0.5} if row == 1 else {"linestyle": ":", "fill": False}
                    _box(ax, other, y, half, layer_h, "", "white", **style)
                elif (layer < 2) == (device == 0):  # pipeline: a contiguous stage of layers
                    _box(ax, x, y, layer_w, layer_h, f"layer {layer + 1}", own, fontsize=7)
    ax.text(-3.1, -0.35, "colour = stored on this device;  hatched = the other half, gathered from the other "
            "device for a moment;  dotted = never stored here\n(tensor parallelism exchanges activations "
            "instead; pipeline parallelism passes activations from stage to stage)", fontsize=8, va="top")
    ax.set_xlim(-3.2, 2 * dev_w + 5.6)
    ax.set_ylim(-0.9, len(_STRATEGY_ROWS) * 1.65)
    ax.set_axis_off()
    ax.set_title(title)
    return ax
